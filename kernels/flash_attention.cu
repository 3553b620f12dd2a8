#include "flash_attention.h"

#include <cmath>

#include "kv_access.cuh"

// Layout of the work. A block takes 64 queries of one query head: 4 warps of
// 16 query rows each. Keys and values stream through shared memory in tiles of
// 64 (one buffer each, loaded with cp.async so that the next K tile loads
// while this tile's softmax and P.V run, and the next V tile while the next
// S = Q K^T runs). Per warp and tile: S (16 x 64) = Q K^T with mma.m16n8k16
// (Q fragments kept in registers for the whole block), online softmax in f32
// on the accumulators (each row's max and sum over the 4 lanes that hold it),
// P rounded to the operand type and reused in registers as the A operand of
// O += P V (V fragments through ldmatrix.trans). Output divided by the row sum
// at the end and rounded once.
//
// Shared rows are padded by 16 bytes: the row pitch is an odd number of
// 16-byte units for every supported head_dim, so the eight rows that one
// ldmatrix phase reads lie in eight different bank groups.
//
// Blocks with later queries have more keys to visit; they are launched first
// (block x takes query block gridDim.x - 1 - x) to shorten the tail.
namespace snapkv::gpu {

namespace {

constexpr int kQueries = 64;  // per block
constexpr int kKeys = 64;     // per tile
constexpr int kThreads = 128;

struct FlashArgs {
  const void* q;
  std::size_t q_row_stride;
  void* out;
  std::size_t out_row_stride;
  int tokens;
  int group;  // query heads per cache head
  float scale_log2;  // log2(e) / sqrt(head_dim)
  KvArgs kv;
};

template <int kDim>
constexpr int pitch() { return kDim + 8; }

template <typename T, int kDim>
__global__ void __launch_bounds__(kThreads) flash_prefill_kernel(FlashArgs args) {
  constexpr int kPitch = pitch<kDim>();
  constexpr int kChunks = kDim / 8;  // 16-byte chunks per row
  extern __shared__ __align__(16) unsigned char shared[];
  T* k_tile = reinterpret_cast<T*>(shared);
  T* v_tile = k_tile + kKeys * kPitch;  // also holds the Q tile before the first V tile

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int q_block = gridDim.x - 1 - blockIdx.x;
  const int head = blockIdx.y;
  const int cache_head = head / args.group;
  const int q0 = q_block * kQueries;
  const long long total = args.kv.length();
  const long long first_key_of_chunk = total - args.tokens;  // key index of query 0
  const int last_query = min(q0 + kQueries, args.tokens) - 1;
  const long long key_limit = first_key_of_chunk + last_query;  // last key any query here sees
  const long long key_tiles = key_limit / kKeys + 1;
  const long long diagonal_from = first_key_of_chunk + q0;  // tiles whose keys exceed this need masking

  const T* q = static_cast<const T*>(args.q);
  auto load_rows = [&](T* tile, bool values, long long tile_index) {
    for (int c = tid; c < kKeys * kChunks; c += kThreads) {
      const int r = c / kChunks, part = c % kChunks;
      const long long j = tile_index * kKeys + r;
      const bool valid = j < total;
      const T* src = valid ? args.kv.row<T>(values, cache_head, j) + part * 8 : q;
      cp_async_16(tile + r * kPitch + part * 8, src, valid);
    }
  };

  // Q tile -> (V buffer) -> registers.
  for (int c = tid; c < kQueries * kChunks; c += kThreads) {
    const int r = c / kChunks, part = c % kChunks;
    const bool valid = q0 + r < args.tokens;
    const T* src = valid ? q + static_cast<std::size_t>(q0 + r) * args.q_row_stride + head * kDim + part * 8 : q;
    cp_async_16(v_tile + r * kPitch + part * 8, src, valid);
  }
  cp_async_commit();
  load_rows(k_tile, false, 0);
  cp_async_commit();
  cp_async_wait<1>();
  __syncthreads();
  std::uint32_t q_frag[kDim / 16][4];
#pragma unroll
  for (int ks = 0; ks < kDim / 16; ++ks) {
    ldmatrix_x4(q_frag[ks], v_tile + (warp * 16 + (lane & 15)) * kPitch + ks * 16 + (lane >> 4) * 8);
  }
  __syncthreads();
  load_rows(v_tile, true, 0);
  cp_async_commit();

  float o[kDim / 8][4];
#pragma unroll
  for (int i = 0; i < kDim / 8; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[i][e] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};  // this thread's share; the quad's shares are added at the end
  const int row_a = warp * 16 + (lane >> 2);  // this thread's rows: row_a and row_a + 8
  const long long key_of_row[2] = {first_key_of_chunk + q0 + row_a, first_key_of_chunk + q0 + row_a + 8};

  for (long long kt = 0; kt < key_tiles; ++kt) {
    cp_async_wait<1>();  // K tile kt
    __syncthreads();
    float s[kKeys / 8][4];
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[nt][e] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < kDim / 16; ++ks) {
#pragma unroll
      for (int np = 0; np < kKeys / 16; ++np) {
        std::uint32_t r[4];
        ldmatrix_x4(r, k_tile + (np * 16 + (lane >> 4) * 8 + (lane & 7)) * kPitch + ks * 16 + ((lane >> 3) & 1) * 8);
        mma_16x8x16<T>(s[2 * np], q_frag[ks], r[0], r[1]);
        mma_16x8x16<T>(s[2 * np + 1], q_frag[ks], r[2], r[3]);
      }
    }
    __syncthreads();  // every warp is done with this K tile
    if (kt + 1 < key_tiles) load_rows(k_tile, false, kt + 1);
    cp_async_commit();

    // Online softmax in the log2 domain.
    const bool masked_tile = kt * kKeys + kKeys - 1 > diagonal_from;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float& x = s[nt][2 * half + e];
          x *= args.scale_log2;
          if (masked_tile) {
            const long long key = kt * kKeys + nt * 8 + (lane & 3) * 2 + e;
            if (key > key_of_row[half]) x = -INFINITY;
          }
          tile_max = fmaxf(tile_max, x);
        }
      }
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
      // Key 0 is visible to every query, so after the first tile the max is finite.
      const float new_max = fmaxf(row_max[half], tile_max);
      const float alpha = exp2f(row_max[half] - new_max);
      float sum = 0.0f;
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float& x = s[nt][2 * half + e];
          x = exp2f(x - new_max);
          sum += x;
        }
      }
      row_sum[half] = row_sum[half] * alpha + sum;
      row_max[half] = new_max;
#pragma unroll
      for (int dt = 0; dt < kDim / 8; ++dt) {
        o[dt][2 * half] *= alpha;
        o[dt][2 * half + 1] *= alpha;
      }
    }

    cp_async_wait<1>();  // V tile kt
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      const std::uint32_t p[4] = {pack2<T>(s[2 * kk][0], s[2 * kk][1]), pack2<T>(s[2 * kk][2], s[2 * kk][3]),
                                  pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                  pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dp = 0; dp < kDim / 16; ++dp) {
        std::uint32_t r[4];
        ldmatrix_x4_trans(r, v_tile + (kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * kPitch + dp * 16 + (lane >> 4) * 8);
        mma_16x8x16<T>(o[2 * dp], p, r[0], r[1]);
        mma_16x8x16<T>(o[2 * dp + 1], p, r[2], r[3]);
      }
    }
    __syncthreads();  // every warp is done with this V tile
    if (kt + 1 < key_tiles) load_rows(v_tile, true, kt + 1);
    cp_async_commit();
  }
  cp_async_wait<0>();

  T* out = static_cast<T*>(args.out);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float total_sum = row_sum[half];
    total_sum += __shfl_xor_sync(0xffffffffu, total_sum, 1);
    total_sum += __shfl_xor_sync(0xffffffffu, total_sum, 2);
    const float inverse = 1.0f / total_sum;
    const int query = q0 + row_a + half * 8;
    if (query >= args.tokens) continue;
    T* row = out + static_cast<std::size_t>(query) * args.out_row_stride + head * kDim + (lane & 3) * 2;
#pragma unroll
    for (int dt = 0; dt < kDim / 8; ++dt) {
      *reinterpret_cast<std::uint32_t*>(row + dt * 8) = pack2<T>(o[dt][2 * half] * inverse, o[dt][2 * half + 1] * inverse);
    }
  }
}

template <typename T, int kDim>
void launch(const FlashArgs& args, int heads, cudaStream_t stream) {
  const int shared_bytes = 2 * kKeys * pitch<kDim>() * static_cast<int>(sizeof(T));
  if (shared_bytes > 48 * 1024) {
    check_cuda(cudaFuncSetAttribute(flash_prefill_kernel<T, kDim>, cudaFuncAttributeMaxDynamicSharedMemorySize, shared_bytes),
               "flash_attention_prefill: cudaFuncSetAttribute(shared memory)");
  }
  const dim3 grid(static_cast<unsigned int>((args.tokens + kQueries - 1) / kQueries), static_cast<unsigned int>(heads));
  flash_prefill_kernel<T, kDim><<<grid, kThreads, shared_bytes, stream>>>(args);
  check_launch("flash_attention_prefill");
}

template <typename T>
void launch_for_dim(const FlashArgs& args, int heads, int head_dim, cudaStream_t stream) {
  switch (head_dim) {
    case 16: return launch<T, 16>(args, heads, stream);
    case 32: return launch<T, 32>(args, heads, stream);
    case 64: return launch<T, 64>(args, heads, stream);
    case 128: return launch<T, 128>(args, heads, stream);
    default: break;
  }
}

}  // namespace

bool flash_attention_supports_head_dim(int head_dim) {
  return head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128;
}

void flash_attention_prefill(const void* q, std::size_t q_row_stride, int tokens, int heads, const KvView& kv,
                             void* out, std::size_t out_row_stride, cudaStream_t stream) {
  check_kv_view(kv, "flash_attention_prefill");
  if (!flash_attention_supports_head_dim(kv.head_dim)) {
    fail(Failure::Unsupported, "flash_attention_prefill: head_dim ", kv.head_dim,
         " is not compiled (16, 32, 64 or 128)");
  }
  if (tokens < 0 || heads <= 0 || heads > 65535 || heads % kv.heads != 0) {
    fail(Failure::InvalidArgument, "flash_attention_prefill: ", tokens, " tokens, ", heads, " heads over ", kv.heads,
         " cache heads (heads must be a multiple of the cache heads)");
  }
  if (tokens == 0) return;
  if (tokens > kv.own.length) {
    fail(Failure::InvalidArgument, "flash_attention_prefill: the chunk's ", tokens,
         " keys must be stored in the cache first (own segment holds ", kv.own.length, ")");
  }
  if (q == nullptr || out == nullptr) fail(Failure::InvalidArgument, "flash_attention_prefill: null buffer");
  const std::size_t width = static_cast<std::size_t>(heads) * kv.head_dim;
  if (!aligned16(q) || q_row_stride % 8 != 0 || q_row_stride < width || reinterpret_cast<std::uintptr_t>(out) % 4 != 0 ||
      out_row_stride % 2 != 0 || out_row_stride < width) {
    fail(Failure::InvalidArgument,
         "flash_attention_prefill: q must be 16-byte aligned with a row stride that is a multiple of 8, out 4-byte "
         "aligned with an even row stride, both strides at least heads x head_dim");
  }
  FlashArgs args{q, q_row_stride, out, out_row_stride, tokens, heads / kv.heads,
                 static_cast<float>(1.4426950408889634 / std::sqrt(static_cast<double>(kv.head_dim))), kv_args(kv)};
  if (kv.type == DType::F16) {
    launch_for_dim<__half>(args, heads, kv.head_dim, stream);
  } else {
    launch_for_dim<__nv_bfloat16>(args, heads, kv.head_dim, stream);
  }
}

}  // namespace snapkv::gpu
