#pragma once
// Token embedding lookup on the device.
#include <cuda_runtime_api.h>

#include "gpu_types.h"

namespace snapkv::gpu {

// out[t] = row tokens[t] of `table` (rows = vocabulary, cols = hidden; any
// type the kernels read, block-quantized rows decoded in place) in
// `out_type` (F32, or F16/BF16 rounded to nearest). `tokens` is in device
// memory; the backend checks ids on the host before upload, and an id out of
// range here gives a row of NaN (never a read outside the table).
void embed_tokens(const DeviceMatrix& table, const int* tokens, int count, DType out_type, void* out,
                  cudaStream_t stream);

}  // namespace snapkv::gpu
