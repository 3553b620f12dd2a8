#pragma once
// Weights on the device: Q8_0 repacked for 16-byte loads, the other
// block-quantized types (Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K) as the file's
// blocks (decoded by quant_blocks.cuh), and the conversion pass that turns any
// stored type into a tensor-core operand type.
//
// Decision (prefill GEMM operands): the GEMM reads 16-bit operands of one
// type (F16 or BF16). A matrix stored in another type (Q8_0, F32, the other
// 16-bit type) is converted by convert_matrix into a scratch buffer right
// before its GEMM. That costs about 3 bytes of traffic per weight (read
// ~1.06 B of Q8_0, write 2 B, the GEMM's reads of the scratch mostly hit L2)
// against 2 * M flops per weight in the GEMM: for a 2048-token chunk on an
// H100 (~3 TB/s, ~600 TFLOP/s of mma.sync) about 1 ns against 7 ns per
// weight, so < 15% of the GEMM, falling as chunks grow. A dequantising tile
// loader inside the GEMM would remove it; it is the next step once measured.
// The block-quantized types take the same path (decode into the scratch):
// about 2.6 B of traffic per weight for Q4_K.
// Decode (matvec) always reads the stored type directly.
#include <cuda_runtime_api.h>

#include <cstddef>

#include "gpu_types.h"

namespace snapkv::gpu {

// Splits a GGUF Q8_0 tensor (rows x cols, cols a multiple of 32; 34-byte
// blocks, at least 2-byte aligned) into int8 quants [rows][cols] and f16
// scales [rows][cols / 32]; `quants` must be 16-byte aligned.
void repack_q8_0(const void* raw_blocks, int rows, int cols, void* quants, void* scales, cudaStream_t stream);

// out[r][c] = the weight converted to `out_type` (F32, F16 or BF16) with one
// rounding (to nearest even) of the exact f32 value.
void convert_matrix(const DeviceMatrix& weights, DType out_type, void* out, cudaStream_t stream);

// Throws UnsupportedModel for a type the kernels do not read, InvalidArgument
// unless the matrix is well formed (sizes positive, rows of whole blocks, Q8_0
// repacked with its scales, other blocks 2-byte aligned).
void check_device_matrix(const DeviceMatrix& weights, const char* who);

// Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K: read in place as the file's blocks.
bool is_block_quantized(WeightType type);

}  // namespace snapkv::gpu
