#include "weight_formats.h"

#include "quant_blocks.cuh"
#include "weight_formats.cuh"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 256;

__global__ void repack_q8_0_kernel(const std::uint16_t* raw, std::size_t blocks, uint4* quants, __half* scales) {
  for (std::size_t b = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; b < blocks;
       b += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    // A block is 17 half-words: the f16 scale, then 32 int8 quants.
    const std::uint16_t* block = raw + b * 17;
    std::uint32_t words[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) words[i] = block[1 + 2 * i] | (static_cast<std::uint32_t>(block[2 + 2 * i]) << 16);
    quants[2 * b] = make_uint4(words[0], words[1], words[2], words[3]);
    quants[2 * b + 1] = make_uint4(words[4], words[5], words[6], words[7]);
    scales[b] = __ushort_as_half(block[0]);
  }
}

template <typename OutT>
__global__ void convert_matrix_kernel(int type, const void* data, const void* scales, std::size_t total, bool vector_ok,
                                      OutT* out) {
  const std::size_t groups = (total + 7) / 8;
  for (std::size_t g = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; g < groups;
       g += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t first = g * 8;
    if (vector_ok && first + 8 <= total) {
      float v[8];
      if (type == static_cast<int>(WeightType::F32)) {
        const float4 a = reinterpret_cast<const float4*>(data)[2 * g];
        const float4 b = reinterpret_cast<const float4*>(data)[2 * g + 1];
        v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
      } else if (type == static_cast<int>(WeightType::Q8_0)) {
        const uint2 q = reinterpret_cast<const uint2*>(data)[g];
        const float scale = __half2float(static_cast<const __half*>(scales)[first / 32]);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const std::uint32_t word = i < 4 ? q.x : q.y;
          const auto quant = static_cast<std::int8_t>((word >> (8 * (i % 4))) & 0xffu);
          v[i] = scale * static_cast<float>(quant);
        }
      } else {
        const uint4 w = reinterpret_cast<const uint4*>(data)[g];
        const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float2 pair = type == static_cast<int>(WeightType::F16) ? unpack2<__half>(words[i])
                                                                      : unpack2<__nv_bfloat16>(words[i]);
          v[2 * i] = pair.x;
          v[2 * i + 1] = pair.y;
        }
      }
      if constexpr (sizeof(OutT) == 4) {
        float4* o = reinterpret_cast<float4*>(out + first);
        o[0] = make_float4(v[0], v[1], v[2], v[3]);
        o[1] = make_float4(v[4], v[5], v[6], v[7]);
      } else {
        *reinterpret_cast<uint4*>(out + first) = make_uint4(pack2<OutT>(v[0], v[1]), pack2<OutT>(v[2], v[3]),
                                                            pack2<OutT>(v[4], v[5]), pack2<OutT>(v[6], v[7]));
      }
    } else {
      for (std::size_t i = first; i < total && i < first + 8; ++i) out[i] = from_f32<OutT>(weight_at(type, data, scales, i));
    }
  }
}

// One thread per group of 32 weights of a block-quantized matrix: decoded in
// place, stored as four (16-bit) or eight (f32) 16-byte stores when `out` is
// 16-byte aligned.
template <int kType, typename OutT>
__global__ void convert_blocks_kernel(const void* data, std::size_t block_bytes, std::size_t groups, bool vector_ok,
                                      OutT* out) {
  for (std::size_t g = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; g < groups;
       g += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    float v[32];
    decode_matrix_group<kType>(data, block_bytes, g, v);
    OutT* o = out + g * 32;
    if (vector_ok) {
      if constexpr (sizeof(OutT) == 4) {
#pragma unroll
        for (int i = 0; i < 8; ++i) reinterpret_cast<float4*>(o)[i] = make_float4(v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]);
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          reinterpret_cast<uint4*>(o)[i] = make_uint4(pack2<OutT>(v[8 * i], v[8 * i + 1]), pack2<OutT>(v[8 * i + 2], v[8 * i + 3]),
                                                      pack2<OutT>(v[8 * i + 4], v[8 * i + 5]), pack2<OutT>(v[8 * i + 6], v[8 * i + 7]));
        }
      }
    } else {
#pragma unroll
      for (int i = 0; i < 32; ++i) o[i] = from_f32<OutT>(v[i]);
    }
  }
}

template <typename OutT>
void convert_blocks(const DeviceMatrix& w, OutT* out, cudaStream_t stream) {
  const std::size_t groups = static_cast<std::size_t>(w.rows) * (w.cols / 32);
  const std::size_t block_bytes = static_cast<std::size_t>(block_shape(w.type).bytes);
  const bool vector_ok = aligned16(out);
  const unsigned int grid = stride_grid(groups, kThreads);
  dispatch_quant_type(w.type, [&](auto type) {
    convert_blocks_kernel<decltype(type)::value, OutT><<<grid, kThreads, 0, stream>>>(w.data, block_bytes, groups, vector_ok, out);
  });
}

}  // namespace

bool is_block_quantized(WeightType type) {
  return dispatch_quant_type(type, [](auto) {});
}

void check_device_matrix(const DeviceMatrix& w, const char* who) {
  // The engine refuses types the GPU does not read when it uploads the weights
  // (engine/device_weight_layout.h); here the launch's own arguments are checked.
  const bool plain = w.type == WeightType::F32 || w.type == WeightType::F16 || w.type == WeightType::BF16 ||
                     w.type == WeightType::Q8_0;
  if (!plain && !is_block_quantized(w.type)) {
    fail(Failure::InvalidArgument, who, ": the kernels do not read ", weight_type_name(w.type), " weights");
  }
  const std::size_t block = static_cast<std::size_t>(block_shape(w.type).values);
  if (w.rows <= 0 || w.cols <= 0 || static_cast<std::size_t>(w.cols) % block != 0) {
    fail(Failure::InvalidArgument, who, ": ", weight_type_name(w.type), " matrix of ", w.rows, " x ", w.cols,
         " (columns must be a positive multiple of its block of ", block, ")");
  }
  if (w.data == nullptr) fail(Failure::InvalidArgument, who, ": matrix without data");
  if (w.type == WeightType::Q8_0) {
    if (w.scales == nullptr) fail(Failure::InvalidArgument, who, ": Q8_0 matrix without its scales (repack_q8_0 first)");
    if (!aligned16(w.data)) fail(Failure::InvalidArgument, who, ": Q8_0 quants must be 16-byte aligned");
  }
  if (is_block_quantized(w.type) && (reinterpret_cast<std::uintptr_t>(w.data) & 1u) != 0) {
    fail(Failure::InvalidArgument, who, ": ", weight_type_name(w.type), " blocks must be 2-byte aligned");
  }
}

void repack_q8_0(const void* raw_blocks, int rows, int cols, void* quants, void* scales, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0 || cols % 32 != 0) {
    fail(Failure::InvalidArgument, "repack_q8_0: ", rows, " x ", cols, " (columns must be a positive multiple of 32)");
  }
  if (raw_blocks == nullptr || quants == nullptr || scales == nullptr) fail(Failure::InvalidArgument, "repack_q8_0: null buffer");
  if ((reinterpret_cast<std::uintptr_t>(raw_blocks) & 1u) != 0) fail(Failure::InvalidArgument, "repack_q8_0: raw blocks must be 2-byte aligned");
  if (!aligned16(quants) || (reinterpret_cast<std::uintptr_t>(scales) & 1u) != 0) {
    fail(Failure::InvalidArgument, "repack_q8_0: quants must be 16-byte and scales 2-byte aligned");
  }
  const std::size_t blocks = static_cast<std::size_t>(rows) * (cols / 32);
  repack_q8_0_kernel<<<stride_grid(blocks, kThreads), kThreads, 0, stream>>>(
      static_cast<const std::uint16_t*>(raw_blocks), blocks, static_cast<uint4*>(quants), static_cast<__half*>(scales));
  check_launch("repack_q8_0");
}

void convert_matrix(const DeviceMatrix& w, DType out_type, void* out, cudaStream_t stream) {
  check_device_matrix(w, "convert_matrix");
  if (out == nullptr) fail(Failure::InvalidArgument, "convert_matrix: null output");
  if (is_block_quantized(w.type)) {
    switch (out_type) {
      case DType::F32: convert_blocks(w, static_cast<float*>(out), stream); break;
      case DType::F16: convert_blocks(w, static_cast<__half*>(out), stream); break;
      case DType::BF16: convert_blocks(w, static_cast<__nv_bfloat16*>(out), stream); break;
    }
    check_launch("convert_matrix");
    return;
  }
  const std::size_t total = static_cast<std::size_t>(w.rows) * w.cols;
  const bool vector_ok = aligned16(out) && aligned16(w.data);
  const int type = static_cast<int>(w.type);
  const unsigned int grid = stride_grid((total + 7) / 8, kThreads);
  switch (out_type) {
    case DType::F32:
      convert_matrix_kernel<float><<<grid, kThreads, 0, stream>>>(type, w.data, w.scales, total, vector_ok, static_cast<float*>(out));
      break;
    case DType::F16:
      convert_matrix_kernel<__half><<<grid, kThreads, 0, stream>>>(type, w.data, w.scales, total, vector_ok, static_cast<__half*>(out));
      break;
    case DType::BF16:
      convert_matrix_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(type, w.data, w.scales, total, vector_ok,
                                                                          static_cast<__nv_bfloat16*>(out));
      break;
  }
  check_launch("convert_matrix");
}

}  // namespace snapkv::gpu
