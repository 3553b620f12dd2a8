#include "rms_norm.h"

#include "device_common.cuh"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 256;

template <typename OutT>
__device__ __forceinline__ void store4(OutT* out, std::size_t i, float a, float b, float c, float d) {
  if constexpr (sizeof(OutT) == 4) {
    *reinterpret_cast<float4*>(out + i) = make_float4(a, b, c, d);
  } else {
    *reinterpret_cast<uint2*>(out + i) = make_uint2(pack2<OutT>(a, b), pack2<OutT>(c, d));
  }
}

// One block per row. Pass 1 sums squares (f32 partials, block reduction);
// pass 2 re-reads the row (from L1/L2) and writes x * scale * weight in the
// CPU's order of the two products.
template <typename OutT>
__global__ void __launch_bounds__(kThreads) rms_norm_kernel(const float* x, const float* weight, int rows, int width,
                                                            float eps, bool vector_ok, OutT* out) {
  __shared__ float scratch[32];
  for (int t = blockIdx.x; t < rows; t += gridDim.x) {
    const float* in = x + static_cast<std::size_t>(t) * width;
    OutT* o = out + static_cast<std::size_t>(t) * width;
    float squares = 0.0f;
    if (vector_ok) {
      for (int i = threadIdx.x * 4; i < width; i += blockDim.x * 4) {
        const float4 v = *reinterpret_cast<const float4*>(in + i);
        squares += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
      }
    } else {
      for (int i = threadIdx.x; i < width; i += blockDim.x) squares += in[i] * in[i];
    }
    const float total = block_sum(squares, scratch);
    const float scale = 1.0f / sqrtf(total / static_cast<float>(width) + eps);
    if (vector_ok) {
      for (int i = threadIdx.x * 4; i < width; i += blockDim.x * 4) {
        const float4 v = *reinterpret_cast<const float4*>(in + i);
        const float4 w = *reinterpret_cast<const float4*>(weight + i);
        store4(o, i, v.x * scale * w.x, v.y * scale * w.y, v.z * scale * w.z, v.w * scale * w.w);
      }
    } else {
      for (int i = threadIdx.x; i < width; i += blockDim.x) o[i] = from_f32<OutT>(in[i] * scale * weight[i]);
    }
  }
}

}  // namespace

void rms_norm(const float* x, const float* weight, int rows, int width, float eps, DType out_type, void* out,
              cudaStream_t stream) {
  if (rows < 0 || width <= 0) fail(Failure::InvalidArgument, "rms_norm: ", rows, " rows of width ", width);
  if (!(eps >= 0.0f)) fail(Failure::InvalidArgument, "rms_norm: eps must be >= 0, got ", eps);
  if (rows == 0) return;
  if (x == nullptr || weight == nullptr || out == nullptr) fail(Failure::InvalidArgument, "rms_norm: null buffer");
  // float4 reads of x and weight, and 4-element stores of out, at offsets t * width + 4k.
  const bool vector_ok = width % 4 == 0 && aligned16(x) && aligned16(weight) &&
                         (reinterpret_cast<std::uintptr_t>(out) % (4 * dtype_bytes(out_type))) == 0;
  const unsigned int grid = static_cast<unsigned int>(rows < 65536 ? rows : 65536);
  switch (out_type) {
    case DType::F32:
      rms_norm_kernel<float><<<grid, kThreads, 0, stream>>>(x, weight, rows, width, eps, vector_ok, static_cast<float*>(out));
      break;
    case DType::F16:
      rms_norm_kernel<__half><<<grid, kThreads, 0, stream>>>(x, weight, rows, width, eps, vector_ok, static_cast<__half*>(out));
      break;
    case DType::BF16:
      rms_norm_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(x, weight, rows, width, eps, vector_ok,
                                                                    static_cast<__nv_bfloat16*>(out));
      break;
  }
  check_launch("rms_norm");
}

}  // namespace snapkv::gpu
