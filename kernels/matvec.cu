#include "matvec.h"

#include "quant_blocks.cuh"
#include "weight_formats.cuh"
#include "weight_formats.h"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 256;     // 8 warps
constexpr int kRowsPerWarp = 2;   // rows share each load of x
constexpr int kUnroll = 4;        // 16-byte loads in flight per row per lane
constexpr int kRowsPerBlock = (kThreads / 32) * kRowsPerWarp;

template <int kType>
struct Format;
template <>
struct Format<static_cast<int>(WeightType::F32)> {
  static constexpr int kPerChunk = 4;
};
template <>
struct Format<static_cast<int>(WeightType::F16)> {
  static constexpr int kPerChunk = 8;
};
template <>
struct Format<static_cast<int>(WeightType::BF16)> {
  static constexpr int kPerChunk = 8;
};
template <>
struct Format<static_cast<int>(WeightType::Q8_0)> {
  static constexpr int kPerChunk = 16;
};

// The dot product of one 16-byte chunk of weights with the matching x values.
template <int kType>
__device__ __forceinline__ float chunk_dot(const uint4& w, const float* xs, float scale) {
  const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
  float sum = 0.0f;
  if constexpr (kType == static_cast<int>(WeightType::F32)) {
#pragma unroll
    for (int i = 0; i < 4; ++i) sum = fmaf(__uint_as_float(words[i]), xs[i], sum);
  } else if constexpr (kType == static_cast<int>(WeightType::Q8_0)) {
    // The scale multiplies the chunk's sum once: scale * q is exact in f32,
    // so this only moves where the f32 roundings fall.
#pragma unroll
    for (int i = 0; i < 16; ++i) {
      const auto q = static_cast<std::int8_t>((words[i / 4] >> (8 * (i % 4))) & 0xffu);
      sum = fmaf(static_cast<float>(q), xs[i], sum);
    }
    sum *= scale;
  } else {
    using Half = std::conditional_t<kType == static_cast<int>(WeightType::F16), __half, __nv_bfloat16>;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 pair = unpack2<Half>(words[i]);
      sum = fmaf(pair.x, xs[2 * i], sum);
      sum = fmaf(pair.y, xs[2 * i + 1], sum);
    }
  }
  return sum;
}

template <int kType>
__global__ void __launch_bounds__(kThreads) matvec_kernel(const void* data, const __half* scales, int rows, int cols,
                                                          const float* __restrict__ x, float* y, bool accumulate,
                                                          bool vector_ok) {
  constexpr int kPer = Format<kType>::kPerChunk;
  const int lane = threadIdx.x & 31;
  const int first_row = (blockIdx.x * (kThreads / 32) + (threadIdx.x >> 5)) * kRowsPerWarp;
  if (first_row >= rows) return;  // whole warp leaves together
  int row[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) row[r] = min(first_row + r, rows - 1);  // a missing row re-reads the last
  float acc[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) acc[r] = 0.0f;

  if (vector_ok) {
    const int chunks = cols / kPer;
    const std::size_t row_chunks = static_cast<std::size_t>(chunks);
    const uint4* w = static_cast<const uint4*>(data);
    for (int c0 = lane; c0 < chunks; c0 += 32 * kUnroll) {
      uint4 loaded[kRowsPerWarp][kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int c = c0 + 32 * u;
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
          if (c < chunks) loaded[r][u] = __ldcs(w + static_cast<std::size_t>(row[r]) * row_chunks + c);
        }
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int c = c0 + 32 * u;
        if (c < chunks) {
          float xs[kPer];
#pragma unroll
          for (int i = 0; i < kPer / 4; ++i) {
            const float4 v = __ldg(reinterpret_cast<const float4*>(x) + c * (kPer / 4) + i);
            xs[4 * i] = v.x, xs[4 * i + 1] = v.y, xs[4 * i + 2] = v.z, xs[4 * i + 3] = v.w;
          }
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r) {
            float scale = 1.0f;
            if constexpr (kType == static_cast<int>(WeightType::Q8_0)) {
              scale = __half2float(scales[static_cast<std::size_t>(row[r]) * (cols / 32) + c / 2]);
            }
            acc[r] += chunk_dot<kType>(loaded[r][u], xs, scale);
          }
        }
      }
    }
  } else {
    for (int c = lane; c < cols; c += 32) {
      const float xc = x[c];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        acc[r] = fmaf(xc, weight_at(kType, data, scales, static_cast<std::size_t>(row[r]) * cols + c), acc[r]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const float total = warp_sum(acc[r]);
    if (lane == 0 && first_row + r < rows) y[first_row + r] = accumulate ? y[first_row + r] + total : total;
  }
}

// The block-quantized types, read in place: lane `lane` of a warp takes groups
// of 32 weights lane, lane + 32, ... of its two rows; x's 32 values of a group
// are loaded once (8 float4) for both rows. A group's products are summed in
// their own chain and then added to the lane's total.
template <int kType>
__global__ void __launch_bounds__(kThreads) matvec_blocks_kernel(const void* data, std::size_t block_bytes, int rows,
                                                                 int cols, const float* __restrict__ x, float* y,
                                                                 bool accumulate, bool x_vector_ok) {
  const int lane = threadIdx.x & 31;
  const int first_row = (blockIdx.x * (kThreads / 32) + (threadIdx.x >> 5)) * kRowsPerWarp;
  if (first_row >= rows) return;  // whole warp leaves together
  const int groups = cols / 32;
  int row[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) row[r] = min(first_row + r, rows - 1);  // a missing row re-reads the last
  float acc[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) acc[r] = 0.0f;
  for (int g = lane; g < groups; g += 32) {
    float xs[32];
    if (x_vector_ok) {
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const float4 v = __ldg(reinterpret_cast<const float4*>(x) + g * 8 + i);
        xs[4 * i] = v.x, xs[4 * i + 1] = v.y, xs[4 * i + 2] = v.z, xs[4 * i + 3] = v.w;
      }
    } else {
#pragma unroll
      for (int i = 0; i < 32; ++i) xs[i] = __ldg(x + g * 32 + i);
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      float w[32];
      decode_matrix_group<kType>(data, block_bytes, static_cast<std::size_t>(row[r]) * groups + g, w);
      float sum = 0.0f;
#pragma unroll
      for (int i = 0; i < 32; ++i) sum = fmaf(w[i], xs[i], sum);
      acc[r] += sum;
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const float total = warp_sum(acc[r]);
    if (lane == 0 && first_row + r < rows) y[first_row + r] = accumulate ? y[first_row + r] + total : total;
  }
}

}  // namespace

void matvec(const DeviceMatrix& w, const float* x, float* y, bool accumulate, cudaStream_t stream) {
  check_device_matrix(w, "matvec");
  if (x == nullptr || y == nullptr) fail(Failure::InvalidArgument, "matvec: null buffer");
  const unsigned int blocks_grid = static_cast<unsigned int>((w.rows + kRowsPerBlock - 1) / kRowsPerBlock);
  const bool quantized = dispatch_quant_type(w.type, [&](auto type) {
    const std::size_t block_bytes = static_cast<std::size_t>(block_shape(w.type).bytes);
    matvec_blocks_kernel<decltype(type)::value><<<blocks_grid, kThreads, 0, stream>>>(w.data, block_bytes, w.rows, w.cols, x, y,
                                                                                     accumulate, aligned16(x));
  });
  if (quantized) {
    check_launch("matvec");
    return;
  }
  const int per_chunk = w.type == WeightType::F32 ? 4 : w.type == WeightType::Q8_0 ? 16 : 8;
  const bool vector_ok = w.cols % per_chunk == 0 && aligned16(w.data) && aligned16(x);
  const unsigned int grid = static_cast<unsigned int>((w.rows + kRowsPerBlock - 1) / kRowsPerBlock);
  const auto* scales = static_cast<const __half*>(w.scales);
  switch (w.type) {
    case WeightType::F32:
      matvec_kernel<static_cast<int>(WeightType::F32)><<<grid, kThreads, 0, stream>>>(w.data, scales, w.rows, w.cols, x, y, accumulate, vector_ok);
      break;
    case WeightType::F16:
      matvec_kernel<static_cast<int>(WeightType::F16)><<<grid, kThreads, 0, stream>>>(w.data, scales, w.rows, w.cols, x, y, accumulate, vector_ok);
      break;
    case WeightType::BF16:
      matvec_kernel<static_cast<int>(WeightType::BF16)><<<grid, kThreads, 0, stream>>>(w.data, scales, w.rows, w.cols, x, y, accumulate, vector_ok);
      break;
    default:
      matvec_kernel<static_cast<int>(WeightType::Q8_0)><<<grid, kThreads, 0, stream>>>(w.data, scales, w.rows, w.cols, x, y, accumulate, vector_ok);
      break;
  }
  check_launch("matvec");
}

}  // namespace snapkv::gpu
