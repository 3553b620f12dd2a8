#include "embedding.h"

#include "quant_blocks.cuh"
#include "weight_formats.cuh"
#include "weight_formats.h"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 256;

// One block per token row (grid-stride over rows), threads across the columns.
template <typename OutT>
__global__ void embed_kernel(int type, const void* data, const void* scales, int vocab, int cols, const int* tokens,
                             int count, OutT* out) {
  for (int t = blockIdx.x; t < count; t += gridDim.x) {
    const int token = tokens[t];
    OutT* row = out + static_cast<std::size_t>(t) * cols;
    if (token < 0 || token >= vocab) {
      for (int c = threadIdx.x; c < cols; c += blockDim.x) row[c] = nan_value<OutT>();
      continue;
    }
    const std::size_t first = static_cast<std::size_t>(token) * cols;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) row[c] = from_f32<OutT>(weight_at(type, data, scales, first + c));
  }
}

// The block-quantized types: threads across the row's groups of 32 weights,
// each decoded in place and stored in order.
template <int kType, typename OutT>
__global__ void embed_blocks_kernel(const void* data, std::size_t block_bytes, int vocab, int cols, const int* tokens,
                                    int count, OutT* out) {
  const int groups = cols / 32;
  for (int t = blockIdx.x; t < count; t += gridDim.x) {
    const int token = tokens[t];
    OutT* row = out + static_cast<std::size_t>(t) * cols;
    if (token < 0 || token >= vocab) {
      for (int c = threadIdx.x; c < cols; c += blockDim.x) row[c] = nan_value<OutT>();
      continue;
    }
    for (int g = threadIdx.x; g < groups; g += blockDim.x) {
      float v[32];
      decode_matrix_group<kType>(data, block_bytes, static_cast<std::size_t>(token) * groups + g, v);
#pragma unroll
      for (int i = 0; i < 32; ++i) row[32 * g + i] = from_f32<OutT>(v[i]);
    }
  }
}

template <typename OutT>
void embed_blocks(const DeviceMatrix& table, const int* tokens, int count, unsigned int grid, OutT* out,
                  cudaStream_t stream) {
  const std::size_t block_bytes = static_cast<std::size_t>(block_shape(table.type).bytes);
  dispatch_quant_type(table.type, [&](auto type) {
    embed_blocks_kernel<decltype(type)::value, OutT><<<grid, kThreads, 0, stream>>>(table.data, block_bytes, table.rows,
                                                                                    table.cols, tokens, count, out);
  });
}

}  // namespace

void embed_tokens(const DeviceMatrix& table, const int* tokens, int count, DType out_type, void* out,
                  cudaStream_t stream) {
  check_device_matrix(table, "embed_tokens");
  if (count < 0) fail(Failure::InvalidArgument, "embed_tokens: negative token count ", count);
  if (count == 0) return;
  if (tokens == nullptr || out == nullptr) fail(Failure::InvalidArgument, "embed_tokens: null buffer");
  const unsigned int grid = static_cast<unsigned int>(count < 65536 ? count : 65536);
  if (is_block_quantized(table.type)) {
    switch (out_type) {
      case DType::F32: embed_blocks(table, tokens, count, grid, static_cast<float*>(out), stream); break;
      case DType::F16: embed_blocks(table, tokens, count, grid, static_cast<__half*>(out), stream); break;
      case DType::BF16: embed_blocks(table, tokens, count, grid, static_cast<__nv_bfloat16*>(out), stream); break;
    }
    check_launch("embed_tokens");
    return;
  }
  const int type = static_cast<int>(table.type);
  switch (out_type) {
    case DType::F32:
      embed_kernel<float><<<grid, kThreads, 0, stream>>>(type, table.data, table.scales, table.rows, table.cols, tokens,
                                                         count, static_cast<float*>(out));
      break;
    case DType::F16:
      embed_kernel<__half><<<grid, kThreads, 0, stream>>>(type, table.data, table.scales, table.rows, table.cols, tokens,
                                                          count, static_cast<__half*>(out));
      break;
    case DType::BF16:
      embed_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(type, table.data, table.scales, table.rows, table.cols,
                                                                 tokens, count, static_cast<__nv_bfloat16*>(out));
      break;
  }
  check_launch("embed_tokens");
}

}  // namespace snapkv::gpu
