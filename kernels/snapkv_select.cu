#include "snapkv_select.h"

#include "block_select.cuh"
#include "kv_access.cuh"

namespace snapkv::gpu {

namespace {

constexpr int kThreads = 256;
constexpr int kSelectThreads = 1024;

__global__ void pool_kernel(const float* scores, int heads, int length, int kernel, int max_pool, float* pooled) {
  const std::size_t total = static_cast<std::size_t>(heads) * length;
  const int half = kernel / 2;
  for (std::size_t index = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t row = index / length;
    const int j = static_cast<int>(index % length);
    const float* s = scores + row * length;
    const int from = max(0, j - half), to = min(length - 1, j + half);
    float result;
    if (max_pool) {
      result = -INFINITY;
      for (int i = from; i <= to; ++i) result = result < s[i] ? s[i] : result;  // std::max's rule
    } else {
      float sum = 0.0f;
      for (int i = from; i <= to; ++i) sum += s[i];
      result = sum / static_cast<float>(kernel);
    }
    pooled[index] = result;
  }
}

struct PooledKey {
  const float* row;
  __device__ std::uint64_t operator()(int j) const { return value_index_key(row[j], static_cast<std::uint32_t>(j)); }
};
struct NoWeight {
  __device__ double operator()(int) const { return 0.0; }
};

__global__ void __launch_bounds__(kSelectThreads) select_kernel(const float* pooled, int scored, int budget, int window,
                                                                int* positions, float* kept_scores) {
  __shared__ SelectShared sh;
  __shared__ int warp_base[32];
  __shared__ int chunk_total;
  const int head = blockIdx.x;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const float* row = pooled + static_cast<std::size_t>(head) * scored;
  int* out_positions = positions + static_cast<std::size_t>(head) * budget;
  float* out_scores = kept_scores + static_cast<std::size_t>(head) * budget;
  const int count = budget - window;  // <= scored
  const PooledKey key_of{row};

  std::uint64_t threshold = ~0ull;  // count == 0: nothing passes
  if (count >= scored) {
    threshold = 0;
  } else if (count > 0) {
    threshold = block_select<false>(scored, 0, static_cast<double>(count), false, key_of, NoWeight{}, sh);
  }
  // Ordered compaction: ascending positions come out in index order.
  int written = 0;
  for (int start = 0; start < scored; start += kSelectThreads) {
    const int j = start + tid;
    const bool keep = j < scored && key_of(j) >= threshold;
    const unsigned int ballot = __ballot_sync(0xffffffffu, keep);
    if (lane == 0) warp_base[warp] = __popc(ballot);
    __syncthreads();
    if (warp == 0) {
      const int mine = warp_base[lane];  // kSelectThreads / 32 == 32 warps
      int inclusive = mine;
#pragma unroll
      for (int offset = 1; offset < 32; offset <<= 1) {
        const int up = __shfl_up_sync(0xffffffffu, inclusive, offset);
        if (lane >= offset) inclusive += up;
      }
      warp_base[lane] = inclusive - mine;
      if (lane == 31) chunk_total = inclusive;
    }
    __syncthreads();
    if (keep) {
      const int slot = written + warp_base[warp] + __popc(ballot & ((1u << lane) - 1u));
      if (slot < count) {  // always true; guards the output against a broken threshold
        out_positions[slot] = j;
        out_scores[slot] = row[j];
      }
    }
    written += chunk_total;
    __syncthreads();  // warp_base and chunk_total are rewritten next round
  }
  for (int t = tid; t < window; t += kSelectThreads) {
    out_positions[count + t] = scored + t;
    out_scores[count + t] = INFINITY;
  }
}

__global__ void keep_all_kernel(int heads, int length, int* positions, float* kept_scores) {
  const std::size_t total = static_cast<std::size_t>(heads) * length;
  for (std::size_t index = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    positions[index] = static_cast<int>(index % length);
    kept_scores[index] = nan_value<float>();
  }
}

// One thread per 16-byte chunk: grid-stride over (slot, chunk), blockIdx.y = cache head.
__global__ void gather_kernel(KvArgs source, int source_heads, const int* positions, int position_stride, int count,
                              void* keys, void* values, std::size_t head_stride, int heads) {
  const int head = blockIdx.y;
  const int source_head = static_cast<int>(static_cast<long long>(head) * source_heads / heads);
  const int chunks = source.head_dim / 8;
  const long long length = source.length();
  const std::size_t total = static_cast<std::size_t>(count) * chunks;
  for (std::size_t index = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const int slot = static_cast<int>(index / chunks), part = static_cast<int>(index % chunks);
    const int position = positions[static_cast<std::size_t>(head) * position_stride + slot];
    const std::size_t to = head * head_stride + static_cast<std::size_t>(slot) * source.head_dim + part * 8;
    uint4 k, v;
    if (position >= 0 && position < length) {
      k = *reinterpret_cast<const uint4*>(source.row<std::uint16_t>(false, source_head, position) + part * 8);
      v = *reinterpret_cast<const uint4*>(source.row<std::uint16_t>(true, source_head, position) + part * 8);
    } else {
      k = v = make_uint4(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);  // NaN: a bad position shows
    }
    *reinterpret_cast<uint4*>(static_cast<std::uint16_t*>(keys) + to) = k;
    *reinterpret_cast<uint4*>(static_cast<std::uint16_t*>(values) + to) = v;
  }
}

}  // namespace

void snapkv_pool(const float* scores, int heads, int length, int kernel, PoolKind pooling, float* pooled,
                 cudaStream_t stream) {
  if (heads <= 0 || length <= 0) fail(Failure::InvalidArgument, "snapkv_pool: ", heads, " rows of ", length);
  if (kernel < 1 || kernel % 2 == 0) fail(Failure::InvalidArgument, "snapkv_pool: kernel must be odd and positive, got ", kernel);
  if (scores == nullptr || pooled == nullptr || scores == pooled) fail(Failure::InvalidArgument, "snapkv_pool: null or aliased buffers");
  const std::size_t total = static_cast<std::size_t>(heads) * length;
  pool_kernel<<<stride_grid(total, kThreads), kThreads, 0, stream>>>(scores, heads, length, kernel,
                                                                     pooling == PoolKind::Max ? 1 : 0, pooled);
  check_launch("snapkv_pool");
}

void snapkv_select_top(const float* pooled, int heads, int scored, int budget, int window, int* positions,
                       float* kept_scores, cudaStream_t stream) {
  if (heads <= 0 || scored <= 0 || window < 0 || budget < window) {
    fail(Failure::InvalidArgument, "snapkv_select_top: ", heads, " heads, ", scored, " scored, budget ", budget,
         ", window ", window);
  }
  if (static_cast<long long>(scored) + window < budget) {
    fail(Failure::InvalidArgument, "snapkv_select_top: the prompt (", static_cast<long long>(scored) + window,
         ") is shorter than the budget (", budget, "): use snapkv_keep_all");
  }
  if (pooled == nullptr || positions == nullptr || kept_scores == nullptr) fail(Failure::InvalidArgument, "snapkv_select_top: null buffer");
  if (heads > 0x7fffffff) fail(Failure::InvalidArgument, "snapkv_select_top: too many heads");
  select_kernel<<<static_cast<unsigned int>(heads), kSelectThreads, 0, stream>>>(pooled, scored, budget, window, positions, kept_scores);
  check_launch("snapkv_select_top");
}

void snapkv_keep_all(int heads, int length, int* positions, float* kept_scores, cudaStream_t stream) {
  if (heads <= 0 || length <= 0) fail(Failure::InvalidArgument, "snapkv_keep_all: ", heads, " heads of ", length);
  if (positions == nullptr || kept_scores == nullptr) fail(Failure::InvalidArgument, "snapkv_keep_all: null buffer");
  const std::size_t total = static_cast<std::size_t>(heads) * length;
  keep_all_kernel<<<stride_grid(total, kThreads), kThreads, 0, stream>>>(heads, length, positions, kept_scores);
  check_launch("snapkv_keep_all");
}

void snapkv_gather(const KvView& source, const int* positions, int position_stride, int count,
                   const CompactTarget& compact, cudaStream_t stream) {
  check_kv_view(source, "snapkv_gather");
  if (count < 0 || position_stride < count) fail(Failure::InvalidArgument, "snapkv_gather: ", count, " slots, stride ", position_stride);
  if (compact.heads <= 0 || compact.heads > 65535) fail(Failure::InvalidArgument, "snapkv_gather: ", compact.heads, " compact heads");
  if (count == 0) return;
  if (positions == nullptr || compact.keys == nullptr || compact.values == nullptr) fail(Failure::InvalidArgument, "snapkv_gather: null buffer");
  if (!aligned16(compact.keys) || !aligned16(compact.values) || compact.head_stride % 8 != 0 ||
      compact.head_stride < static_cast<std::size_t>(count) * source.head_dim) {
    fail(Failure::InvalidArgument, "snapkv_gather: compact cache must be 16-byte aligned with room for ", count, " slots per head");
  }
  const std::size_t per_head = static_cast<std::size_t>(count) * (source.head_dim / 8);
  const unsigned int blocks = static_cast<unsigned int>(std::min<std::size_t>((per_head + kThreads - 1) / kThreads, 4096));
  gather_kernel<<<dim3(blocks, static_cast<unsigned int>(compact.heads)), kThreads, 0, stream>>>(
      kv_args(source), source.heads, positions, position_stride, count, compact.keys, compact.values,
      compact.head_stride, compact.heads);
  check_launch("snapkv_gather");
}

}  // namespace snapkv::gpu
