#include "sampling.h"

#include <cmath>

#include "block_select.cuh"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 1024;

struct LogitKey {
  const float* logits;
  __device__ std::uint64_t operator()(int i) const { return value_index_key(logits[i], static_cast<std::uint32_t>(i)); }
};
struct StoredWeight {
  const double* weights;
  __device__ double operator()(int i) const { return weights[i]; }
};

__device__ double block_sum_double(double x, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
  __syncthreads();
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  double total = lane < static_cast<int>(blockDim.x >> 5) ? scratch[lane] : 0.0;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) total += __shfl_xor_sync(0xffffffffu, total, offset);
  return total;
}

// Total weight of the candidates (key >= lower).
__device__ double candidate_weight(int vocab, std::uint64_t lower, const LogitKey& key_of, const double* weights,
                                   double* scratch) {
  double sum = 0.0;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    if (key_of(i) >= lower) sum += weights[i];
  }
  return block_sum_double(sum, scratch);
}

__global__ void __launch_bounds__(kThreads) sample_kernel(const float* logits, int vocab, DeviceSampling options,
                                                          double uniform, double* weights, int* token) {
  __shared__ SelectShared sh;
  __shared__ double scratch[32];
  __shared__ float best_value[32];
  __shared__ int best_index[32];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

  // Maximum, and the lowest id holding it (std::max_element's choice).
  float best = -INFINITY;
  int index = 0x7fffffff;
  for (int i = tid; i < vocab; i += blockDim.x) {
    if (logits[i] > best || index == 0x7fffffff) best = logits[i], index = i;  // i rises: first max kept
  }
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other = __shfl_xor_sync(0xffffffffu, best, offset);
    const int other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (other > best || (other == best && other_index < index)) best = other, index = other_index;
  }
  if (lane == 0) best_value[warp] = best, best_index[warp] = index;
  __syncthreads();
  if (warp == 0) {
    best = best_value[lane], index = best_index[lane];  // 32 warps
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float other = __shfl_xor_sync(0xffffffffu, best, offset);
      const int other_index = __shfl_xor_sync(0xffffffffu, index, offset);
      if (other > best || (other == best && other_index < index)) best = other, index = other_index;
    }
    if (lane == 0) best_value[0] = best, best_index[0] = index;
  }
  __syncthreads();
  const float top = best_value[0];
  if (options.temperature == 0.0f) {
    if (tid == 0) *token = best_index[0];
    return;
  }

  // The CPU's weights: exp((logit - top) / temperature) in double.
  for (int i = tid; i < vocab; i += blockDim.x) {
    weights[i] = exp((static_cast<double>(logits[i]) - static_cast<double>(top)) / static_cast<double>(options.temperature));
  }
  __syncthreads();  // block-wide visibility of the global writes

  const LogitKey key_of{logits};
  const StoredWeight weight_of{weights};
  std::uint64_t lower = 0;
  if (options.top_k > 0 && options.top_k < vocab) {
    lower = block_select<false>(vocab, 0, static_cast<double>(options.top_k), false, key_of, weight_of, sh);
  }
  double total = candidate_weight(vocab, lower, key_of, weights, scratch);
  if (options.top_p < 1.0f) {
    lower = block_select<true>(vocab, lower, static_cast<double>(options.top_p) * total, false, key_of, weight_of, sh);
    total = candidate_weight(vocab, lower, key_of, weights, scratch);
  }
  const std::uint64_t chosen = block_select<true>(vocab, lower, uniform * total, true, key_of, weight_of, sh);
  if (tid == 0) *token = static_cast<int>(index_of_key(chosen));
}

}  // namespace

std::size_t sampling_workspace_bytes(int vocab) { return sizeof(double) * static_cast<std::size_t>(vocab > 0 ? vocab : 0); }

void sample_token(const float* logits, int vocab, const DeviceSampling& o, double uniform, void* workspace, int* token,
                  cudaStream_t stream) {
  if (vocab <= 0) fail(Failure::InvalidArgument, "sample_token: vocabulary of ", vocab);
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature)) {
    fail(Failure::InvalidArgument, "sample_token: temperature must be 0 (greedy) or positive, got ", o.temperature);
  }
  if (o.top_k < 0) fail(Failure::InvalidArgument, "sample_token: topK must be 0 (off) or positive, got ", o.top_k);
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) fail(Failure::InvalidArgument, "sample_token: topP must be in (0, 1], got ", o.top_p);
  if (!(uniform >= 0.0 && uniform < 1.0)) fail(Failure::InvalidArgument, "sample_token: uniform must be in [0, 1), got ", uniform);
  if (logits == nullptr || token == nullptr || (o.temperature > 0.0f && workspace == nullptr)) {
    fail(Failure::InvalidArgument, "sample_token: null buffer");
  }
  if ((reinterpret_cast<std::uintptr_t>(workspace) & 7u) != 0) fail(Failure::InvalidArgument, "sample_token: workspace must be 8-byte aligned");
  sample_kernel<<<1, kThreads, 0, stream>>>(logits, vocab, o, uniform, static_cast<double*>(workspace), token);
  check_launch("sample_token");
}

}  // namespace snapkv::gpu
