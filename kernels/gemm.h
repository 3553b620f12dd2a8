#pragma once
// Matrix products for prefill on the tensor cores: C = A B^T with 16-bit
// operands (F16 or BF16) and f32 accumulation.
#include <cuda_runtime_api.h>

#include "gpu_types.h"

namespace snapkv::gpu {

// C[m][n] (+)= sum_k A[m][k] * B[n][k]: A = activations (M tokens x K, row
// stride lda), B = weights in the same operand type (N rows x K, row stride
// ldb: a Linear weight as stored), C f32 (M x N, row stride ldc). With
// `accumulate` C is added to (the residual add fused). Requirements, checked:
// K, lda, ldb multiples of 8 and A, B 16-byte aligned (16-byte copies); M, N,
// K any size otherwise (edge tiles are zero-filled). Weights stored in another
// type go through convert_matrix first (see weight_formats.h).
void gemm(DType operand_type, const void* a, int lda, const void* b, int ldb, float* c, int ldc, int m, int n, int k,
          bool accumulate, cudaStream_t stream);

// The dynamic shared memory one GEMM block uses (for reports and checks).
int gemm_shared_bytes();

}  // namespace snapkv::gpu
