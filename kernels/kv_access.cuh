#pragma once
// Device-side reading of a KvView: key index j -> the row of its segment.
#include "device_common.cuh"

namespace snapkv::gpu {

// A KvView flattened for kernel arguments.
struct KvArgs {
  const void* base_keys;
  const void* base_values;
  std::size_t base_head_stride;
  int base_length;
  const void* own_keys;
  const void* own_values;
  std::size_t own_head_stride;
  int own_length;
  int head_dim;

  __device__ __forceinline__ long long length() const { return static_cast<long long>(base_length) + own_length; }

  // The first element of key (or value) j of cache head `head`, 0 <= j < length().
  template <typename T>
  __device__ __forceinline__ const T* row(bool values, int head, long long j) const {
    if (j < base_length) {
      const T* p = static_cast<const T*>(values ? base_values : base_keys);
      return p + head * base_head_stride + static_cast<std::size_t>(j) * head_dim;
    }
    const T* p = static_cast<const T*>(values ? own_values : own_keys);
    return p + head * own_head_stride + static_cast<std::size_t>(j - base_length) * head_dim;
  }
};

inline KvArgs kv_args(const KvView& view) {
  return KvArgs{view.base.keys, view.base.values, view.base.head_stride, view.base.length,
                view.own.keys,  view.own.values,  view.own.head_stride,  view.own.length, view.head_dim};
}

// Throws InvalidArgument unless the view can be read with 16-byte loads:
// 16-bit type, head_dim a multiple of 8, segments aligned, lengths >= 0.
void check_kv_view(const KvView& view, const char* who);

}  // namespace snapkv::gpu
