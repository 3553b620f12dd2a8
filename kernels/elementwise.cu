#include "elementwise.h"

#include "device_common.cuh"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 256;

// Grid-stride loops; with `vector_ok` four values per step (16-byte loads).

__global__ void add_kernel(float* x, const float* y, std::size_t n, bool vector_ok) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  const std::size_t start = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (vector_ok) {
    for (std::size_t i = start; i < n / 4; i += stride) {
      float4 a = reinterpret_cast<float4*>(x)[i];
      const float4 b = reinterpret_cast<const float4*>(y)[i];
      a.x += b.x, a.y += b.y, a.z += b.z, a.w += b.w;
      reinterpret_cast<float4*>(x)[i] = a;
    }
  } else {
    for (std::size_t i = start; i < n; i += stride) x[i] += y[i];
  }
}

__device__ __forceinline__ float silu_times(float g, float u) { return g / (1.0f + expf(-g)) * u; }

template <typename OutT>
__device__ __forceinline__ void store4(OutT* out, std::size_t i4, float a, float b, float c, float d) {
  if constexpr (sizeof(OutT) == 4) {
    reinterpret_cast<float4*>(out)[i4] = make_float4(a, b, c, d);
  } else {
    reinterpret_cast<uint2*>(out)[i4] = make_uint2(pack2<OutT>(a, b), pack2<OutT>(c, d));
  }
}

template <typename OutT>
__global__ void swiglu_kernel(const float* gate, const float* up, std::size_t n, bool vector_ok, OutT* out) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  const std::size_t start = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (vector_ok) {
    for (std::size_t i = start; i < n / 4; i += stride) {
      const float4 g = reinterpret_cast<const float4*>(gate)[i];
      const float4 u = reinterpret_cast<const float4*>(up)[i];
      store4(out, i, silu_times(g.x, u.x), silu_times(g.y, u.y), silu_times(g.z, u.z), silu_times(g.w, u.w));
    }
  } else {
    for (std::size_t i = start; i < n; i += stride) out[i] = from_f32<OutT>(silu_times(gate[i], up[i]));
  }
}

template <typename OutT>
__global__ void convert_kernel(const float* in, std::size_t n, bool vector_ok, OutT* out) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  const std::size_t start = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (vector_ok) {
    for (std::size_t i = start; i < n / 4; i += stride) {
      const float4 v = reinterpret_cast<const float4*>(in)[i];
      store4(out, i, v.x, v.y, v.z, v.w);
    }
  } else {
    for (std::size_t i = start; i < n; i += stride) out[i] = from_f32<OutT>(in[i]);
  }
}

bool vector_ok_for(std::size_t n, const void* a, const void* b, const void* out, DType out_type) {
  return n % 4 == 0 && aligned16(a) && (b == nullptr || aligned16(b)) &&
         reinterpret_cast<std::uintptr_t>(out) % (4 * dtype_bytes(out_type)) == 0;
}

}  // namespace

void add_in_place(float* x, const float* y, std::size_t n, cudaStream_t stream) {
  if (n == 0) return;
  if (x == nullptr || y == nullptr) fail(Failure::InvalidArgument, "add_in_place: null buffer");
  const bool vector_ok = vector_ok_for(n, x, y, x, DType::F32);
  add_kernel<<<stride_grid(vector_ok ? n / 4 : n, kThreads), kThreads, 0, stream>>>(x, y, n, vector_ok);
  check_launch("add_in_place");
}

void swiglu(const float* gate, const float* up, std::size_t n, DType out_type, void* out, cudaStream_t stream) {
  if (n == 0) return;
  if (gate == nullptr || up == nullptr || out == nullptr) fail(Failure::InvalidArgument, "swiglu: null buffer");
  if (out == static_cast<const void*>(gate) && out_type != DType::F32) {
    fail(Failure::InvalidArgument, "swiglu: writing over the gate needs f32 output");
  }
  const bool vector_ok = vector_ok_for(n, gate, up, out, out_type);
  const unsigned int grid = stride_grid(vector_ok ? n / 4 : n, kThreads);
  switch (out_type) {
    case DType::F32: swiglu_kernel<float><<<grid, kThreads, 0, stream>>>(gate, up, n, vector_ok, static_cast<float*>(out)); break;
    case DType::F16: swiglu_kernel<__half><<<grid, kThreads, 0, stream>>>(gate, up, n, vector_ok, static_cast<__half*>(out)); break;
    case DType::BF16:
      swiglu_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(gate, up, n, vector_ok, static_cast<__nv_bfloat16*>(out));
      break;
  }
  check_launch("swiglu");
}

void convert_f32(const float* in, std::size_t n, DType out_type, void* out, cudaStream_t stream) {
  if (n == 0) return;
  if (in == nullptr || out == nullptr) fail(Failure::InvalidArgument, "convert_f32: null buffer");
  const bool vector_ok = vector_ok_for(n, in, nullptr, out, out_type);
  const unsigned int grid = stride_grid(vector_ok ? n / 4 : n, kThreads);
  switch (out_type) {
    case DType::F32: convert_kernel<float><<<grid, kThreads, 0, stream>>>(in, n, vector_ok, static_cast<float*>(out)); break;
    case DType::F16: convert_kernel<__half><<<grid, kThreads, 0, stream>>>(in, n, vector_ok, static_cast<__half*>(out)); break;
    case DType::BF16:
      convert_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(in, n, vector_ok, static_cast<__nv_bfloat16*>(out));
      break;
  }
  check_launch("convert_f32");
}

}  // namespace snapkv::gpu
