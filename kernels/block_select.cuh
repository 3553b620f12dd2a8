#pragma once
// Selection by rank or by cumulative weight in one thread block, by radix
// over 64-bit keys (8 passes of 8 bits, most significant first). Keys are
// unique per element (value_index_key: value, then the index as tie-break),
// so "descending key order" is the CPU's order: higher value first, equal
// values by lower index.
#include "device_common.cuh"

namespace snapkv::gpu {

struct SelectShared {
  double weight[256];
  unsigned int count[256];
  std::uint64_t prefix;
  double remaining;
  int take_last;
};

// Among the candidates (elements i < n with key_of(i) >= lower), walking in
// descending key order, finds the first element whose running total reaches
// `target`: the count of elements so far (kWeighted false) or the sum of
// weight_of (kWeighted true); "reaches" is >= target, or > target when
// `strict`. Returns that element's key in every thread. When no candidate
// reaches the target (rounding of weights), returns the last candidate's key.
// Every thread of the block must call it; blockDim.x a multiple of 32.
template <bool kWeighted, typename KeyOf, typename WeightOf>
__device__ std::uint64_t block_select(int n, std::uint64_t lower, double target, bool strict, KeyOf key_of,
                                      WeightOf weight_of, SelectShared& sh) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int rounded = (n + blockDim.x - 1) / blockDim.x * blockDim.x;
  __syncthreads();  // every thread has read the previous call's result from sh
  if (tid == 0) {
    sh.prefix = 0;
    sh.remaining = target;
    sh.take_last = 0;
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    for (int b = tid; b < 256; b += blockDim.x) {
      sh.count[b] = 0;
      if (kWeighted) sh.weight[b] = 0.0;
    }
    __syncthreads();
    const std::uint64_t prefix = sh.prefix;
    const std::uint64_t high = shift == 56 ? 0 : (~0ull << (shift + 8));
    for (int i = tid; i < rounded; i += blockDim.x) {  // same trip count in every lane of a warp
      int bin = 256;
      if (i < n) {
        const std::uint64_t key = key_of(i);
        if (key >= lower && (key & high) == (prefix & high)) bin = static_cast<int>((key >> shift) & 0xffu);
      }
      const unsigned int peers = __match_any_sync(0xffffffffu, bin);
      if (bin < 256) {
        if (kWeighted) atomicAdd(&sh.weight[bin], weight_of(i));
        if (lane == __ffs(peers) - 1) atomicAdd(&sh.count[bin], static_cast<unsigned int>(__popc(peers)));
      }
    }
    __syncthreads();
    if (warp == 0) {
      // Lane L covers bins 255 - 8L down to 248 - 8L: lanes in descending bin order.
      double local = 0.0;
      unsigned int local_count = 0;
#pragma unroll
      for (int q = 0; q < 8; ++q) {
        const int b = 255 - 8 * lane - q;
        local += kWeighted ? sh.weight[b] : static_cast<double>(sh.count[b]);
        local_count += sh.count[b];
      }
      double inclusive = local;
#pragma unroll
      for (int offset = 1; offset < 32; offset <<= 1) {
        const double up = __shfl_up_sync(0xffffffffu, inclusive, offset);
        if (lane >= offset) inclusive += up;
      }
      double before = __shfl_up_sync(0xffffffffu, inclusive, 1);
      if (lane == 0) before = 0.0;
      const double remaining = sh.remaining;
      int take_last = sh.take_last;
      const bool reaches = local_count > 0 && (strict ? inclusive > remaining : inclusive >= remaining);
      const unsigned int reaching = __ballot_sync(0xffffffffu, !take_last && reaches);
      const unsigned int nonempty = __ballot_sync(0xffffffffu, local_count > 0);
      int chosen;
      if (reaching != 0) {
        chosen = __ffs(reaching) - 1;
      } else {
        take_last = 1;  // nothing reaches the target: follow the last candidate
        chosen = 31 - __clz(nonempty);
      }
      if (lane == chosen) {
        double acc = before;
        int bin = -1, last_bin = -1;
        double last_before = acc;
        for (int q = 0; q < 8; ++q) {
          const int b = 255 - 8 * lane - q;
          if (sh.count[b] == 0) continue;
          const double w = kWeighted ? sh.weight[b] : static_cast<double>(sh.count[b]);
          last_bin = b;
          last_before = acc;
          if (!take_last && (strict ? acc + w > remaining : acc + w >= remaining)) {
            bin = b;
            break;
          }
          acc += w;
        }
        if (bin < 0) {  // rounding: the lane's total reached it, its bins one by one did not
          bin = last_bin;
          acc = last_before;
        }
        sh.prefix = prefix | (static_cast<std::uint64_t>(bin) << shift);
        sh.remaining = remaining - acc;
        sh.take_last = take_last;
      }
    }
    __syncthreads();
  }
  return sh.prefix;
}

}  // namespace snapkv::gpu
