#pragma once
// Reading one weight of a DeviceMatrix as f32 on the device (exact: F16,
// BF16 and a Q8_0 scale times an int8 are all representable in f32 after one
// product, computed as the CPU computes it).
#include "device_common.cuh"

namespace snapkv::gpu {

__device__ __forceinline__ float weight_at(int type, const void* data, const void* scales, std::size_t flat) {
  switch (type) {
    case static_cast<int>(WeightType::F32): return static_cast<const float*>(data)[flat];
    case static_cast<int>(WeightType::F16): return __half2float(static_cast<const __half*>(data)[flat]);
    case static_cast<int>(WeightType::BF16): return __bfloat162float(static_cast<const __nv_bfloat16*>(data)[flat]);
    default: {  // Q8_0, repacked
      const float scale = __half2float(static_cast<const __half*>(scales)[flat / 32]);
      return scale * static_cast<float>(static_cast<const std::int8_t*>(data)[flat]);
    }
  }
}

}  // namespace snapkv::gpu
