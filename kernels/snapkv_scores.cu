#include "snapkv_scores.h"

#include <cmath>

#include "kv_access.cuh"

// Work layout shared by both passes: a block of 256 threads (8 warps) holds
// 32 window queries of one query head in shared memory (f32) and a tile of
// 128 keys (16-bit, row pitch an odd number of 32-bit words so that 32 lanes
// reading 32 different keys hit 32 banks). Thread (warp w, lane l) computes
// the 4 x 4 scores of queries 4w..4w+3 against keys l, l+32, l+64, l+96: per
// step of two dimensions 4 broadcast float2 reads of queries, 4 conflict-free
// word reads of keys, 32 FMAs. CUDA cores in f32 rather than tensor cores:
// SnapKV's selection is compared with the CPU's f32 scores, and the pass costs
// 2 * heads * window * L * head_dim flops per layer (0.23 TFLOP for L = 1M,
// 28 heads, window 32: milliseconds), small next to prefill.
namespace snapkv::gpu {

namespace {

constexpr int kThreads = 256;
constexpr int kRows = 32;   // window queries per block pass
constexpr int kKeys = 128;  // keys per tile
constexpr int kMaxSplits = 64;

struct ScoreArgs {
  const void* queries;
  std::size_t query_row_stride;
  int window;
  int heads;
  int group;
  int combine_mean;
  float scale;  // 1 / sqrt(head_dim), as the CPU computes it
  KvArgs kv;
  int tiles_per_split;
  int splits;
  float* partial;   // [heads][window][splits][2]: max, sum
  float* row_max;   // [heads][window]
  float* row_inverse;  // [heads][window]: 1 / sum
  float* scores;
};

__host__ __device__ constexpr int key_pitch_words(int dim) { return (dim + 2) / 2; }

// Queries and one key tile; at the end of pass 2 the same memory holds the
// 8 x kKeys column shares of the warps.
std::size_t shared_bytes_for(int dim) {
  const std::size_t tiles = static_cast<std::size_t>(kRows) * dim + static_cast<std::size_t>(kKeys) * key_pitch_words(dim);
  const std::size_t reduction = static_cast<std::size_t>(kThreads / 32) * kKeys;
  return sizeof(float) * (tiles > reduction ? tiles : reduction);
}

template <typename T>
__device__ void load_queries(const ScoreArgs& a, int head, int row0, float* q_s) {
  const int dim = a.kv.head_dim;
  const T* q = static_cast<const T*>(a.queries);
  for (int i = threadIdx.x; i < kRows * dim; i += kThreads) {
    const int r = i / dim, d = i % dim;
    const int t = row0 + r;
    q_s[i] = t < a.window ? to_f32(q[static_cast<std::size_t>(t) * a.query_row_stride + static_cast<std::size_t>(head) * dim + d]) : 0.0f;
  }
}

// Keys [first, first + kKeys) of cache head `kv_head`; those at or past `limit` are zero.
template <typename T>
__device__ void load_keys(const ScoreArgs& a, int kv_head, long long first, long long limit, std::uint32_t* k_s) {
  const int dim = a.kv.head_dim, chunks = dim / 8, pitch = key_pitch_words(dim);
  for (int c = threadIdx.x; c < kKeys * chunks; c += kThreads) {
    const int r = c / chunks, part = c % chunks;
    uint4 k = make_uint4(0, 0, 0, 0);
    if (first + r < limit) k = *reinterpret_cast<const uint4*>(a.kv.row<T>(false, kv_head, first + r) + part * 8);
    std::uint32_t* out = k_s + r * pitch + part * 4;
    out[0] = k.x, out[1] = k.y, out[2] = k.z, out[3] = k.w;
  }
}

template <typename T>
__device__ __forceinline__ void tile_scores(const float* q_s, const std::uint32_t* k_s, int dim, float scale,
                                            float (&s)[4][4]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int pitch = key_pitch_words(dim);
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) s[i][j] = 0.0f;
  for (int d2 = 0; d2 < dim / 2; ++d2) {
    float2 q[4], k[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) q[i] = reinterpret_cast<const float2*>(q_s + (warp * 4 + i) * dim)[d2];
#pragma unroll
    for (int j = 0; j < 4; ++j) k[j] = unpack2<T>(k_s[(lane + 32 * j) * pitch + d2]);
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) s[i][j] = fmaf(q[i].y, k[j].y, fmaf(q[i].x, k[j].x, s[i][j]));
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) s[i][j] *= scale;
}

// (m, l) pairs: l is a sum of exp(score - m).
__device__ __forceinline__ void merge_max_sum(float& m, float& l, float m2, float l2) {
  const float top = fmaxf(m, m2);
  if (top == -INFINITY) return;
  l = (m == -INFINITY ? 0.0f : l * expf(m - top)) + (m2 == -INFINITY ? 0.0f : l2 * expf(m2 - top));
  m = top;
}

// Pass 1: grid (split, query head, window chunk).
template <typename T>
__global__ void __launch_bounds__(kThreads) row_stats_kernel(ScoreArgs a) {
  extern __shared__ __align__(16) unsigned char shared[];
  const int dim = a.kv.head_dim;
  float* q_s = reinterpret_cast<float*>(shared);
  auto* k_s = reinterpret_cast<std::uint32_t*>(q_s + kRows * dim);
  const int split = blockIdx.x, head = blockIdx.y, row0 = blockIdx.z * kRows;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const long long length = a.kv.length();
  const long long first_window_key = length - a.window;  // query t sits at key first_window_key + t
  const int kv_head = head / a.group;

  load_queries<T>(a, head, row0, q_s);
  float m[4], l[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) m[i] = -INFINITY, l[i] = 0.0f;

  const long long tile_begin = static_cast<long long>(split) * a.tiles_per_split;
  const long long tiles = (length + kKeys - 1) / kKeys;
  const long long tile_end = min(tiles, tile_begin + a.tiles_per_split);
  for (long long tile = tile_begin; tile < tile_end; ++tile) {
    const long long first = tile * kKeys;
    __syncthreads();
    load_keys<T>(a, kv_head, first, length, k_s);
    __syncthreads();
    float s[4][4];
    tile_scores<T>(q_s, k_s, dim, a.scale, s);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const long long sees_up_to = first_window_key + row0 + warp * 4 + i;  // causal; < length for real rows
      float tile_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const long long key = first + lane + 32 * j;
        if (key > sees_up_to || key >= length) s[i][j] = -INFINITY;
        tile_max = fmaxf(tile_max, s[i][j]);
      }
      if (tile_max == -INFINITY) continue;
      const float top = fmaxf(m[i], tile_max);
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < 4; ++j) sum += expf(s[i][j] - top);
      l[i] = (m[i] == -INFINITY ? 0.0f : l[i] * expf(m[i] - top)) + sum;
      m[i] = top;
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m[i], offset);
      const float l2 = __shfl_xor_sync(0xffffffffu, l[i], offset);
      merge_max_sum(m[i], l[i], m2, l2);
    }
    const int t = row0 + warp * 4 + i;
    if (lane == 0 && t < a.window) {
      float* out = a.partial + ((static_cast<std::size_t>(head) * a.window + t) * a.splits + split) * 2;
      out[0] = m[i];
      out[1] = l[i];
    }
  }
}

// Pass 1b: one thread per (query head, window query).
__global__ void row_combine_kernel(ScoreArgs a) {
  const int index = blockIdx.x * blockDim.x + threadIdx.x;
  if (index >= a.heads * a.window) return;
  const float* p = a.partial + static_cast<std::size_t>(index) * a.splits * 2;
  float m = -INFINITY, l = 0.0f;
  for (int s = 0; s < a.splits; ++s) merge_max_sum(m, l, p[2 * s], p[2 * s + 1]);
  a.row_max[index] = m;
  a.row_inverse[index] = 1.0f / l;
}

// Pass 2: grid (key tile, cache head). Keys j < L - window are seen by every
// window query, so there is no mask here.
template <typename T>
__global__ void __launch_bounds__(kThreads) column_scores_kernel(ScoreArgs a) {
  extern __shared__ __align__(16) unsigned char shared[];
  const int dim = a.kv.head_dim;
  float* q_s = reinterpret_cast<float*>(shared);
  auto* k_s = reinterpret_cast<std::uint32_t*>(q_s + kRows * dim);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int cache_head = blockIdx.y;
  const long long scored = a.kv.length() - a.window;
  const long long first = static_cast<long long>(blockIdx.x) * kKeys;
  const int first_head = a.combine_mean ? cache_head * a.group : cache_head;
  const int head_count = a.combine_mean ? a.group : 1;
  const int kv_head = first_head / a.group;

  load_keys<T>(a, kv_head, first, scored, k_s);
  float column[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int hh = 0; hh < head_count; ++hh) {
    const int head = first_head + hh;
    for (int row0 = 0; row0 < a.window; row0 += kRows) {
      __syncthreads();  // the previous queries are no longer read (and the keys are in place)
      load_queries<T>(a, head, row0, q_s);
      __syncthreads();
      float s[4][4];
      tile_scores<T>(q_s, k_s, dim, a.scale, s);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int t = row0 + warp * 4 + i;
        if (t >= a.window) continue;
        const float m = a.row_max[static_cast<std::size_t>(head) * a.window + t];
        const float inverse = a.row_inverse[static_cast<std::size_t>(head) * a.window + t];
#pragma unroll
        for (int j = 0; j < 4; ++j) column[j] += expf(s[i][j] - m) * inverse;
      }
    }
  }
  // Sum the 8 warps' shares of each column (the query buffer is reused).
  __syncthreads();
  float* reduce = q_s;  // [8][kKeys]: shared_bytes_for makes room
#pragma unroll
  for (int j = 0; j < 4; ++j) reduce[warp * kKeys + lane + 32 * j] = column[j];
  __syncthreads();
  if (threadIdx.x < kKeys) {
    float total = 0.0f;
    for (int w = 0; w < kThreads / 32; ++w) total += reduce[w * kKeys + threadIdx.x];
    if (a.combine_mean) total /= static_cast<float>(a.group);
    const long long j = first + threadIdx.x;
    if (j < scored) a.scores[static_cast<std::size_t>(cache_head) * scored + j] = total;
  }
}

}  // namespace

std::size_t snapkv_score_workspace_bytes(int heads, int window) {
  const std::size_t rows = static_cast<std::size_t>(heads) * window;
  return sizeof(float) * (rows * kMaxSplits * 2 + 2 * rows);
}

void snapkv_scores(const SnapKvScoreJob& job, cudaStream_t stream) {
  const KvView& kv = job.keys;
  check_kv_view(kv, "snapkv_scores");
  if (job.window <= 0 || job.heads <= 0 || job.heads % kv.heads != 0) {
    fail(Failure::InvalidArgument, "snapkv_scores: window ", job.window, ", ", job.heads, " heads over ", kv.heads,
         " KV heads");
  }
  if (kv.length() <= job.window) {
    fail(Failure::InvalidArgument, "snapkv_scores: the prompt (", kv.length(), ") must be longer than the window (",
         job.window, ")");
  }
  if (job.window_queries == nullptr || job.scores == nullptr || job.workspace == nullptr) {
    fail(Failure::InvalidArgument, "snapkv_scores: null buffer");
  }
  if (job.query_row_stride < static_cast<std::size_t>(job.heads) * kv.head_dim) fail(Failure::InvalidArgument, "snapkv_scores: query rows overlap");
  const int dim = kv.head_dim;
  const long long length = kv.length();
  const long long tiles = (length + kKeys - 1) / kKeys;
  const int tiles_per_split = static_cast<int>((tiles + kMaxSplits - 1) / kMaxSplits);
  const int splits = static_cast<int>((tiles + tiles_per_split - 1) / tiles_per_split);
  const long long scored = length - job.window;
  const int cache_heads = job.gqa == GqaCombine::Mean ? kv.heads : job.heads;
  const std::size_t rows = static_cast<std::size_t>(job.heads) * job.window;
  auto* partial = static_cast<float*>(job.workspace);
  ScoreArgs a{job.window_queries, job.query_row_stride, job.window, job.heads, job.heads / kv.heads,
              job.gqa == GqaCombine::Mean ? 1 : 0, 1.0f / std::sqrt(static_cast<float>(dim)), kv_args(kv),
              tiles_per_split, splits, partial, partial + rows * kMaxSplits * 2,
              partial + rows * kMaxSplits * 2 + rows, job.scores};
  const std::size_t shared = shared_bytes_for(dim);
  const unsigned int window_chunks = static_cast<unsigned int>((job.window + kRows - 1) / kRows);
  if (window_chunks > 65535 || job.heads > 65535 || cache_heads > 65535) fail(Failure::InvalidArgument, "snapkv_scores: window or heads too large");
  const dim3 stats_grid(static_cast<unsigned int>(splits), static_cast<unsigned int>(job.heads), window_chunks);
  const dim3 column_grid(static_cast<unsigned int>((scored + kKeys - 1) / kKeys), static_cast<unsigned int>(cache_heads));
  const unsigned int combine_blocks = static_cast<unsigned int>((rows + kThreads - 1) / kThreads);
  if (kv.type == DType::F16) {
    check_cuda(cudaFuncSetAttribute(row_stats_kernel<__half>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)), "snapkv_scores: shared memory");
    check_cuda(cudaFuncSetAttribute(column_scores_kernel<__half>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)), "snapkv_scores: shared memory");
    row_stats_kernel<__half><<<stats_grid, kThreads, shared, stream>>>(a);
    check_launch("snapkv_scores (row statistics)");
    row_combine_kernel<<<combine_blocks, kThreads, 0, stream>>>(a);
    check_launch("snapkv_scores (row combine)");
    column_scores_kernel<__half><<<column_grid, kThreads, shared, stream>>>(a);
  } else {
    check_cuda(cudaFuncSetAttribute(row_stats_kernel<__nv_bfloat16>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)), "snapkv_scores: shared memory");
    check_cuda(cudaFuncSetAttribute(column_scores_kernel<__nv_bfloat16>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared)), "snapkv_scores: shared memory");
    row_stats_kernel<__nv_bfloat16><<<stats_grid, kThreads, shared, stream>>>(a);
    check_launch("snapkv_scores (row statistics)");
    row_combine_kernel<<<combine_blocks, kThreads, 0, stream>>>(a);
    check_launch("snapkv_scores (row combine)");
    column_scores_kernel<__nv_bfloat16><<<column_grid, kThreads, shared, stream>>>(a);
  }
  check_launch("snapkv_scores (column sums)");
}

}  // namespace snapkv::gpu
