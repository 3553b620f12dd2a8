#include "decode_attention.h"

#include <cmath>

#include "kv_access.cuh"

// Split kernel: block (split s, cache head c), 128 threads. The group's
// queries sit in shared memory (f32); keys and values of the split pass in
// tiles of 32. Per tile: each warp scores the tile for its query heads (lane =
// key, a dot product over head_dim from shared memory; the K tile's row pitch
// is an odd number of 32-bit words, so the 32 lanes hit 32 banks), updates
// that head's running max and sum (log2 domain), and leaves the tile's
// probabilities in shared memory; then each thread updates its two output
// dimensions for every head of the group (V read as 32-bit pairs, consecutive
// threads on consecutive words). Unnormalised partial outputs, maxima and sums
// go to the workspace; the combine kernel rescales and adds them.
namespace snapkv::gpu {

namespace {

constexpr int kThreads = 128;
constexpr int kTile = 32;
constexpr int kMaxGroup = 16;
constexpr int kMaxDim = 256;
constexpr int kMaxSplits = 128;  // per cache head
constexpr int kMinKeysPerSplit = 32;

struct DecodeArgs {
  const float* q;
  int group;
  int keys_per_split;
  int splits;
  float scale_log2;
  KvArgs kv;
  float* partial_out;  // [heads][splits][head_dim]
  float* partial_max_sum;  // [heads][splits][2]
};

template <typename T>
__global__ void __launch_bounds__(kThreads) decode_split_kernel(DecodeArgs args) {
  extern __shared__ __align__(16) unsigned char shared[];
  const int dim = args.kv.head_dim;
  const int key_pitch = (dim + 2) / 2;  // 32-bit words per K row: odd because dim % 4 == 0
  float* q_s = reinterpret_cast<float*>(shared);                                   // [group][dim]
  std::uint32_t* k_s = reinterpret_cast<std::uint32_t*>(q_s + args.group * dim);   // [kTile][key_pitch]
  std::uint32_t* v_s = k_s + kTile * key_pitch;                                    // [kTile][dim / 2]
  float* p_s = reinterpret_cast<float*>(v_s + kTile * dim / 2);                    // [group][kTile]
  float* alpha_s = p_s + args.group * kTile;                                       // [group]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int split = blockIdx.x, cache_head = blockIdx.y;
  const int first_head = cache_head * args.group;
  const long long total = args.kv.length();
  const long long begin = static_cast<long long>(split) * args.keys_per_split;
  const long long end = min(total, begin + args.keys_per_split);

  for (int i = tid; i < args.group * dim; i += kThreads) q_s[i] = args.q[static_cast<std::size_t>(first_head) * dim + i];

  // Running max and sum of the heads this warp scores: head warp + 4 i.
  float run_max[kMaxGroup / 4], run_sum[kMaxGroup / 4];
#pragma unroll
  for (int i = 0; i < kMaxGroup / 4; ++i) run_max[i] = -INFINITY, run_sum[i] = 0.0f;
  float out[kMaxGroup][2];
#pragma unroll
  for (int h = 0; h < kMaxGroup; ++h) out[h][0] = out[h][1] = 0.0f;

  const int chunks = dim / 8;
  for (long long tile = begin; tile < end; tile += kTile) {
    const int count = static_cast<int>(min(static_cast<long long>(kTile), end - tile));
    __syncthreads();  // q_s written / the previous tile's readers are done
    for (int c = tid; c < kTile * chunks; c += kThreads) {
      const int r = c / chunks, part = c % chunks;
      uint4 k = make_uint4(0, 0, 0, 0), v = make_uint4(0, 0, 0, 0);
      if (r < count) {
        k = *reinterpret_cast<const uint4*>(args.kv.row<T>(false, cache_head, tile + r) + part * 8);
        v = *reinterpret_cast<const uint4*>(args.kv.row<T>(true, cache_head, tile + r) + part * 8);
      }
      std::uint32_t* kr = k_s + r * key_pitch + part * 4;
      kr[0] = k.x, kr[1] = k.y, kr[2] = k.z, kr[3] = k.w;
      *reinterpret_cast<uint4*>(v_s + r * (dim / 2) + part * 4) = v;
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kMaxGroup / 4; ++i) {
      const int h = warp + 4 * i;
      if (h >= args.group) break;
      float score = -INFINITY;
      if (lane < count) {
        const float* qh = q_s + h * dim;
        const std::uint32_t* kr = k_s + lane * key_pitch;
        float dot = 0.0f;
        for (int d2 = 0; d2 < dim / 2; ++d2) {
          const float2 kv = unpack2<T>(kr[d2]);
          dot = fmaf(qh[2 * d2], kv.x, dot);
          dot = fmaf(qh[2 * d2 + 1], kv.y, dot);
        }
        score = dot * args.scale_log2;
      }
      const float new_max = fmaxf(run_max[i], warp_max(score));  // finite: count >= 1
      const float p = exp2f(score - new_max);
      const float alpha = exp2f(run_max[i] - new_max);
      run_sum[i] = run_sum[i] * alpha + warp_sum(p);
      run_max[i] = new_max;
      p_s[h * kTile + lane] = p;
      if (lane == 0) alpha_s[h] = alpha;
    }
    __syncthreads();
    if (2 * tid < dim) {
#pragma unroll
      for (int h = 0; h < kMaxGroup; ++h) {
        if (h >= args.group) break;
        const float alpha = alpha_s[h];
        float o0 = out[h][0] * alpha, o1 = out[h][1] * alpha;
        for (int j = 0; j < count; ++j) {
          const float p = p_s[h * kTile + j];
          const float2 v = unpack2<T>(v_s[j * (dim / 2) + tid]);
          o0 = fmaf(p, v.x, o0);
          o1 = fmaf(p, v.y, o1);
        }
        out[h][0] = o0, out[h][1] = o1;
      }
    }
  }

  const std::size_t splits = static_cast<std::size_t>(args.splits);
  if (2 * tid < dim) {
#pragma unroll
    for (int h = 0; h < kMaxGroup; ++h) {
      if (h >= args.group) break;
      float* o = args.partial_out + ((first_head + h) * splits + split) * dim + 2 * tid;
      o[0] = out[h][0];
      o[1] = out[h][1];
    }
  }
#pragma unroll
  for (int i = 0; i < kMaxGroup / 4; ++i) {
    const int h = warp + 4 * i;
    if (h >= args.group) break;
    if (lane == 0) {
      float* ms = args.partial_max_sum + ((first_head + h) * splits + split) * 2;
      ms[0] = run_max[i];
      ms[1] = run_sum[i];
    }
  }
}

// One block per query head: out = sum_s o_s 2^(m_s - M) / sum_s l_s 2^(m_s - M).
__global__ void __launch_bounds__(kThreads) decode_combine_kernel(const float* partial_out, const float* partial_max_sum,
                                                                  int splits, int dim, float* out) {
  const int head = blockIdx.x;
  const float* ms = partial_max_sum + static_cast<std::size_t>(head) * splits * 2;
  float global_max = -INFINITY;
  for (int s = 0; s < splits; ++s) global_max = fmaxf(global_max, ms[2 * s]);
  float total = 0.0f;
  for (int s = 0; s < splits; ++s) total += ms[2 * s + 1] * exp2f(ms[2 * s] - global_max);
  const float inverse = 1.0f / total;
  for (int d = threadIdx.x; d < dim; d += blockDim.x) {
    float acc = 0.0f;
    for (int s = 0; s < splits; ++s) {
      acc = fmaf(partial_out[(static_cast<std::size_t>(head) * splits + s) * dim + d], exp2f(ms[2 * s] - global_max), acc);
    }
    out[static_cast<std::size_t>(head) * dim + d] = acc * inverse;
  }
}

}  // namespace

int decode_attention_keys_per_split(long long keys) {
  long long per = (keys + kMaxSplits - 1) / kMaxSplits;
  per = (per + kTile - 1) / kTile * kTile;
  return static_cast<int>(per < kMinKeysPerSplit ? kMinKeysPerSplit : per);
}

std::size_t decode_attention_workspace_bytes(int heads, int head_dim) {
  return static_cast<std::size_t>(heads) * kMaxSplits * (static_cast<std::size_t>(head_dim) + 2) * sizeof(float);
}

void decode_attention(const float* q, int heads, const KvView& kv, float* out, void* workspace, cudaStream_t stream) {
  check_kv_view(kv, "decode_attention");
  if (heads <= 0 || heads % kv.heads != 0 || heads / kv.heads > kMaxGroup) {
    fail(Failure::InvalidArgument, "decode_attention: ", heads, " query heads over ", kv.heads,
         " cache heads (a whole group of at most ", kMaxGroup, " per cache head)");
  }
  if (kv.head_dim > kMaxDim || kv.head_dim % 4 != 0) fail(Failure::InvalidArgument, "decode_attention: head_dim ", kv.head_dim);
  if (kv.heads > 65535) fail(Failure::InvalidArgument, "decode_attention: too many cache heads");
  if (q == nullptr || out == nullptr || workspace == nullptr) fail(Failure::InvalidArgument, "decode_attention: null buffer");
  if ((reinterpret_cast<std::uintptr_t>(workspace) & 15u) != 0) fail(Failure::InvalidArgument, "decode_attention: workspace must be 16-byte aligned");
  const long long keys = kv.length();
  const int keys_per_split = decode_attention_keys_per_split(keys);
  const int splits = static_cast<int>((keys + keys_per_split - 1) / keys_per_split);
  const int group = heads / kv.heads;
  const int dim = kv.head_dim;
  auto* partial_out = static_cast<float*>(workspace);
  float* partial_max_sum = partial_out + static_cast<std::size_t>(heads) * splits * dim;
  DecodeArgs args{q, group, keys_per_split, splits,
                  static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(dim))), kv_args(kv), partial_out,
                  partial_max_sum};
  const int key_pitch = (dim + 2) / 2;
  const std::size_t shared_bytes = sizeof(float) * (static_cast<std::size_t>(group) * dim + static_cast<std::size_t>(kTile) * key_pitch +
                                                    static_cast<std::size_t>(kTile) * dim / 2 + static_cast<std::size_t>(group) * kTile + group);
  const dim3 grid(static_cast<unsigned int>(splits), static_cast<unsigned int>(kv.heads));
  if (shared_bytes > 48 * 1024) {  // a group of 16 at head_dim 256 needs 50 KB
    check_cuda(cudaFuncSetAttribute(kv.type == DType::F16 ? decode_split_kernel<__half> : decode_split_kernel<__nv_bfloat16>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared_bytes)),
               "decode_attention: cudaFuncSetAttribute(shared memory)");
  }
  if (kv.type == DType::F16) {
    decode_split_kernel<__half><<<grid, kThreads, shared_bytes, stream>>>(args);
  } else {
    decode_split_kernel<__nv_bfloat16><<<grid, kThreads, shared_bytes, stream>>>(args);
  }
  check_launch("decode_attention (splits)");
  decode_combine_kernel<<<heads, kThreads, 0, stream>>>(partial_out, partial_max_sum, splits, dim, out);
  check_launch("decode_attention (combine)");
}

}  // namespace snapkv::gpu
