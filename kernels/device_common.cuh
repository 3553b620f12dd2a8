#pragma once
// Device helpers shared by the kernels: number conversions, warp reductions,
// 16-byte loads, and the few PTX instructions the tensor-core kernels use
// (cp.async, ldmatrix, mma.sync). Included by .cu files only.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_check.h"
#include "gpu_types.h"

namespace snapkv::gpu {

// ---- conversions ---------------------------------------------------------

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ T from_f32(float x);
template <>
__device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <>
__device__ __forceinline__ __half from_f32<__half>(float x) { return __float2half_rn(x); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// Two 16-bit values packed in one 32-bit word (the low half first in memory).
template <typename T>
__device__ __forceinline__ float2 unpack2(std::uint32_t word);
template <>
__device__ __forceinline__ float2 unpack2<__half>(std::uint32_t word) {
  __half2 h;
  memcpy(&h, &word, 4);
  return __half22float2(h);
}
template <>
__device__ __forceinline__ float2 unpack2<__nv_bfloat16>(std::uint32_t word) {
  // bf16 -> f32 is a shift: exact and cheaper than the conversion instruction.
  return make_float2(__uint_as_float(word << 16), __uint_as_float(word & 0xffff0000u));
}

template <typename T>
__device__ __forceinline__ std::uint32_t pack2(float low, float high);
template <>
__device__ __forceinline__ std::uint32_t pack2<__half>(float low, float high) {
  const __half2 h = __floats2half2_rn(low, high);
  std::uint32_t word;
  memcpy(&word, &h, 4);
  return word;
}
template <>
__device__ __forceinline__ std::uint32_t pack2<__nv_bfloat16>(float low, float high) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(low, high);
  std::uint32_t word;
  memcpy(&word, &h, 4);
  return word;
}

// A quiet NaN in every output type: what an element that must not be used gets.
template <typename T>
__device__ __forceinline__ T nan_value();
template <>
__device__ __forceinline__ float nan_value<float>() { return __int_as_float(0x7fc00000); }
template <>
__device__ __forceinline__ __half nan_value<__half>() { return __ushort_as_half(0x7e00); }
template <>
__device__ __forceinline__ __nv_bfloat16 nan_value<__nv_bfloat16>() { return __ushort_as_bfloat16(0x7fc0); }

// ---- reductions ----------------------------------------------------------

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
  return x;
}

// Sum over the block; every thread gets the result. `scratch` holds 32 floats.
// Contains __syncthreads: every thread of the block must call it.
__device__ __forceinline__ float block_sum(float x, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warps = (blockDim.x + 31) >> 5;
  x = warp_sum(x);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  float total = lane < warps ? scratch[lane] : 0.0f;
  return warp_sum(total);
}

// ---- ordering floats as unsigned keys --------------------------------------

// Larger float -> larger key; -0 counts as +0 (the CPU compares them equal).
__device__ __forceinline__ std::uint32_t float_order_key(float x) {
  std::uint32_t bits = __float_as_uint(x);
  if (bits == 0x80000000u) bits = 0;
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

// Descending key order = descending value, then ascending index: the order
// of the CPU's top-k and sampler (ties go to the lower index). Unique per index.
__device__ __forceinline__ std::uint64_t value_index_key(float value, std::uint32_t index) {
  return (static_cast<std::uint64_t>(float_order_key(value)) << 32) | (0xffffffffu - index);
}

__device__ __forceinline__ std::uint32_t index_of_key(std::uint64_t key) {
  return 0xffffffffu - static_cast<std::uint32_t>(key & 0xffffffffu);
}

// ---- asynchronous copies and tensor-core instructions (sm_80+) -------------

__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// Copies 16 bytes global -> shared without registers; src_bytes 0 fills the
// 16 bytes with zeros and reads nothing (src must still be a valid address).
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(smem)), "l"(gmem),
               "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Four 8x8 matrices of 16-bit elements from shared memory; lane l gives the
// address of row l % 8 of matrix l / 8.
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const void* smem) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(smem)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], const void* smem) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(smem)));
}

// D = A (16x16, row) * B (16x8, col) + D, f32 accumulators.
template <typename T>
__device__ __forceinline__ void mma_16x8x16(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                            std::uint32_t b1);
template <>
__device__ __forceinline__ void mma_16x8x16<__nv_bfloat16>(float (&d)[4], const std::uint32_t (&a)[4],
                                                           std::uint32_t b0, std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma_16x8x16<__half>(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                                    std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ---- host-side helpers for the wrappers ------------------------------------

inline bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

// Grid size for a grid-stride loop over `work` items: enough blocks to fill
// the device several times over, never more than needed.
inline unsigned int stride_grid(std::size_t work, int threads) {
  const std::size_t needed = (work + threads - 1) / threads;
  const std::size_t cap = static_cast<std::size_t>(multiprocessor_count()) * 16;
  const std::size_t blocks = needed < cap ? needed : cap;
  return static_cast<unsigned int>(blocks > 0 ? blocks : 1);
}

}  // namespace snapkv::gpu
