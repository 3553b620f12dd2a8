#include "gemm.h"

#include "device_common.cuh"

namespace snapkv::gpu {

// Tiling. A block computes a 128 x 128 tile of C with 8 warps (2 along M x 4
// along N, each 64 x 32: 4 x 4 mma.m16n8k16 tiles, 64 f32 accumulators per
// thread). K advances 32 at a time through a 4-stage cp.async pipeline. Shared
// rows are padded from 64 to 80 bytes so that the eight 16-byte rows one
// ldmatrix phase reads fall in eight different bank groups (row r starts at
// 16-byte unit 5r mod 8: all distinct), i.e. no bank conflicts.
// Shared memory: 4 stages x (128 + 128) rows x 80 B = 80 KB per block: fits
// every target (sm_86/89 allow 99 KB per block: one block per SM; sm_80 and
// sm_90 two). __launch_bounds__(256, 2) caps registers at 128 so that two
// blocks fit the register file too (ptxas: 128 registers, no spills).
//
// What Hopper's own path would add (not used yet; plain sm_90 runs this
// mma.sync kernel): TMA (cp.async.bulk.tensor) loads whole tiles with one
// instruction and no address arithmetic per thread, completing on an mbarrier,
// and wgmma (sm_90a) lets a warpgroup multiply 64 x N x 16 tiles straight from
// shared memory with the accumulators in registers, asynchronously; with a
// producer warp and 3-4 stages that reaches ~70-80% of the 990 TFLOP/s bf16
// peak, where mma.sync tops out near 60%.
namespace {

constexpr int kBlockM = 128;
constexpr int kBlockN = 128;
constexpr int kBlockK = 32;
constexpr int kStages = 4;
constexpr int kThreads = 256;
constexpr int kPitch = kBlockK + 8;  // elements per shared row (80 bytes)
constexpr int kSharedBytes = kStages * (kBlockM + kBlockN) * kPitch * 2;

template <typename T>
__global__ void __launch_bounds__(kThreads, 2)
    gemm_kernel(const T* __restrict__ a, int lda, const T* __restrict__ b, int ldb, float* c, int ldc, int m, int n,
                int k, bool accumulate, bool pair_stores) {
  extern __shared__ __align__(16) unsigned char shared[];
  T* a_tiles = reinterpret_cast<T*>(shared);
  T* b_tiles = a_tiles + kStages * kBlockM * kPitch;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int warp_m = warp >> 2, warp_n = warp & 3;
  const int m0 = blockIdx.x * kBlockM, n0 = blockIdx.y * kBlockN;
  const int k_tiles = (k + kBlockK - 1) / kBlockK;

  // Each thread copies two 16-byte chunks of A and two of B per stage: chunk
  // id = tid + 256 i, row id / 4, eight elements at column (id % 4) * 8.
  auto load_stage = [&](int stage, int kt) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int id = tid + i * kThreads;
      const int row = id >> 2, col = (id & 3) * 8;
      const int gk = kt * kBlockK + col;
      const bool a_valid = m0 + row < m && gk < k;
      const bool b_valid = n0 + row < n && gk < k;
      const T* a_src = a_valid ? a + static_cast<std::size_t>(m0 + row) * lda + gk : a;
      const T* b_src = b_valid ? b + static_cast<std::size_t>(n0 + row) * ldb + gk : b;
      cp_async_16(a_tiles + (stage * kBlockM + row) * kPitch + col, a_src, a_valid);
      cp_async_16(b_tiles + (stage * kBlockN + row) * kPitch + col, b_src, b_valid);
    }
  };

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_tiles) load_stage(s, s);
    cp_async_commit();
  }

  for (int kt = 0; kt < k_tiles; ++kt) {
    cp_async_wait<kStages - 2>();  // tile kt has landed
    __syncthreads();               // ... for every thread; and tile kt - 1's stage is free
    const int next = kt + kStages - 1;
    if (next < k_tiles) load_stage(next % kStages, next);
    cp_async_commit();

    const int stage = kt % kStages;
    const T* a_stage = a_tiles + (stage * kBlockM + warp_m * 64) * kPitch;
    const T* b_stage = b_tiles + (stage * kBlockN + warp_n * 32) * kPitch;
#pragma unroll
    for (int ks = 0; ks < kBlockK / 16; ++ks) {
      std::uint32_t a_frag[4][4];
      std::uint32_t b_frag[4][2];
#pragma unroll
      for (int mt = 0; mt < 4; ++mt) {
        // Matrices: rows 0-7 / 8-15 of the m16 tile x k 0-7 / 8-15.
        ldmatrix_x4(a_frag[mt], a_stage + (mt * 16 + (lane & 15)) * kPitch + ks * 16 + (lane >> 4) * 8);
      }
#pragma unroll
      for (int np = 0; np < 2; ++np) {
        // Matrices: n 0-7 x k 0-7, n 0-7 x k 8-15, n 8-15 x k 0-7, n 8-15 x k 8-15.
        std::uint32_t r[4];
        ldmatrix_x4(r, b_stage + (np * 16 + (lane >> 4) * 8 + (lane & 7)) * kPitch + ks * 16 + ((lane >> 3) & 1) * 8);
        b_frag[2 * np][0] = r[0];
        b_frag[2 * np][1] = r[1];
        b_frag[2 * np + 1][0] = r[2];
        b_frag[2 * np + 1][1] = r[3];
      }
#pragma unroll
      for (int mt = 0; mt < 4; ++mt)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) mma_16x8x16<T>(acc[mt][nt], a_frag[mt], b_frag[nt][0], b_frag[nt][1]);
    }
  }
  cp_async_wait<0>();

  // Accumulator layout of m16n8: elements 0, 1 at (row lane / 4, columns
  // 2 (lane % 4) + {0, 1}); elements 2, 3 eight rows further down.
  const int group = lane >> 2, pair = (lane & 3) * 2;
#pragma unroll
  for (int mt = 0; mt < 4; ++mt) {
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
      const int col = n0 + warp_n * 32 + nt * 8 + pair;
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int row = m0 + warp_m * 64 + mt * 16 + group + half * 8;
        if (row >= m || col >= n) continue;
        float v0 = acc[mt][nt][2 * half], v1 = acc[mt][nt][2 * half + 1];
        float* out = c + static_cast<std::size_t>(row) * ldc + col;
        if (pair_stores && col + 1 < n) {
          if (accumulate) {
            const float2 old = *reinterpret_cast<const float2*>(out);
            v0 += old.x;
            v1 += old.y;
          }
          *reinterpret_cast<float2*>(out) = make_float2(v0, v1);
        } else {
          out[0] = accumulate ? out[0] + v0 : v0;
          if (col + 1 < n) out[1] = accumulate ? out[1] + v1 : v1;
        }
      }
    }
  }
}

template <typename T>
void launch(const void* a, int lda, const void* b, int ldb, float* c, int ldc, int m, int n, int k, bool accumulate,
            cudaStream_t stream) {
  check_cuda(cudaFuncSetAttribute(gemm_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSharedBytes),
             "gemm: cudaFuncSetAttribute(shared memory)");
  const bool pair_stores = ldc % 2 == 0 && (reinterpret_cast<std::uintptr_t>(c) & 7u) == 0;
  const dim3 grid(static_cast<unsigned int>((m + kBlockM - 1) / kBlockM), static_cast<unsigned int>((n + kBlockN - 1) / kBlockN));
  gemm_kernel<T><<<grid, kThreads, kSharedBytes, stream>>>(static_cast<const T*>(a), lda, static_cast<const T*>(b), ldb, c,
                                                           ldc, m, n, k, accumulate, pair_stores);
  check_launch("gemm");
}

}  // namespace

int gemm_shared_bytes() { return kSharedBytes; }

void gemm(DType operand_type, const void* a, int lda, const void* b, int ldb, float* c, int ldc, int m, int n, int k,
          bool accumulate, cudaStream_t stream) {
  if (m < 0 || n <= 0 || k <= 0) fail(Failure::InvalidArgument, "gemm: sizes ", m, " x ", n, " x ", k);
  if (m == 0) return;
  if (a == nullptr || b == nullptr || c == nullptr) fail(Failure::InvalidArgument, "gemm: null buffer");
  if (k % 8 != 0 || lda % 8 != 0 || ldb % 8 != 0) {
    fail(Failure::InvalidArgument, "gemm: K (", k, "), lda (", lda, ") and ldb (", ldb, ") must be multiples of 8");
  }
  if (lda < k || ldb < k || ldc < n) fail(Failure::InvalidArgument, "gemm: leading dimensions smaller than the rows");
  if (!aligned16(a) || !aligned16(b)) fail(Failure::InvalidArgument, "gemm: A and B must be 16-byte aligned");
  if ((n + kBlockN - 1) / kBlockN > 65535) fail(Failure::InvalidArgument, "gemm: N = ", n, " is above ", 65535 * kBlockN);
  switch (operand_type) {
    case DType::F16: launch<__half>(a, lda, b, ldb, c, ldc, m, n, k, accumulate, stream); break;
    case DType::BF16: launch<__nv_bfloat16>(a, lda, b, ldb, c, ldc, m, n, k, accumulate, stream); break;
    default: fail(Failure::InvalidArgument, "gemm: operands must be f16 or bf16, not ", dtype_name(operand_type));
  }
}

}  // namespace snapkv::gpu
