#include "cpu/matmul.h"

#include <algorithm>
#include <vector>

#include "cpu/number_formats.h"
#include "cpu/simd.h"
#include "cpu/thread_pool.h"

namespace snapkv {

namespace {

constexpr int kTokenBlock = 32;                 // tokens that share one pass over a weight panel
constexpr int kPanelBytes = 96 * 1024;          // f32 weight panel kept in L2
constexpr int kTile = 4;                        // 4 tokens x 4 rows per micro-kernel
constexpr int kRowsPerMatvecTask = 16;

#if defined(__AVX512F__)
inline __m512 load16_f16(const std::uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load16_bf16(const std::uint16_t* p) {
  __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
inline __m512 load16_i8(const std::int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
inline __m256 load8_f16(const std::uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load8_bf16(const std::uint16_t* p) {
  __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline __m256 load8_i8(const std::int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
#define SNAPKV_AVX2_CONVERT 1
#endif

float dot_f16(const std::uint16_t* w, const float* x, int n) {
  int i = 0;
  float total = 0;
#if defined(__AVX512F__)
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(load16_f16(w + i), _mm512_loadu_ps(x + i), acc0);
    acc1 = _mm512_fmadd_ps(load16_f16(w + i + 16), _mm512_loadu_ps(x + i + 16), acc1);
  }
  total = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
#elif defined(SNAPKV_AVX2_CONVERT)
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(load8_f16(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(load8_f16(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
  }
  total = simd::sum(_mm256_add_ps(acc0, acc1));
#endif
  for (; i < n; ++i) total += f16_to_f32(w[i]) * x[i];
  return total;
}

float dot_bf16(const std::uint16_t* w, const float* x, int n) {
  int i = 0;
  float total = 0;
#if defined(__AVX512F__)
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(load16_bf16(w + i), _mm512_loadu_ps(x + i), acc0);
    acc1 = _mm512_fmadd_ps(load16_bf16(w + i + 16), _mm512_loadu_ps(x + i + 16), acc1);
  }
  total = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
#elif defined(SNAPKV_AVX2_CONVERT)
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(load8_bf16(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(load8_bf16(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
  }
  total = simd::sum(_mm256_add_ps(acc0, acc1));
#endif
  for (; i < n; ++i) total += bf16_to_f32(w[i]) * x[i];
  return total;
}

float dot_q8_0(const BlockQ8_0* blocks, const float* x, int n) {
  const int block_count = n / 32;
#if defined(__AVX512F__)
  __m512 acc = _mm512_setzero_ps();
  for (int b = 0; b < block_count; ++b) {
    const float* xb = x + b * 32;
    __m512 partial = _mm512_mul_ps(load16_i8(blocks[b].quants), _mm512_loadu_ps(xb));
    partial = _mm512_fmadd_ps(load16_i8(blocks[b].quants + 16), _mm512_loadu_ps(xb + 16), partial);
    acc = _mm512_fmadd_ps(_mm512_set1_ps(f16_to_f32(blocks[b].scale_f16)), partial, acc);
  }
  return _mm512_reduce_add_ps(acc);
#elif defined(SNAPKV_AVX2_CONVERT)
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < block_count; ++b) {
    const float* xb = x + b * 32;
    __m256 partial = _mm256_mul_ps(load8_i8(blocks[b].quants), _mm256_loadu_ps(xb));
    for (int j = 8; j < 32; j += 8) {
      partial = _mm256_fmadd_ps(load8_i8(blocks[b].quants + j), _mm256_loadu_ps(xb + j), partial);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_to_f32(blocks[b].scale_f16)), partial, acc);
  }
  return simd::sum(acc);
#else
  float total = 0;
  for (int b = 0; b < block_count; ++b) {
    float partial = 0;
    for (int j = 0; j < 32; ++j) partial += static_cast<float>(blocks[b].quants[j]) * x[b * 32 + j];
    total += f16_to_f32(blocks[b].scale_f16) * partial;
  }
  return total;
#endif
}

void matvec(const WeightMatrix& w, const float* x, float* y, ThreadPool& pool) {
  const int tasks = (w.rows + kRowsPerMatvecTask - 1) / kRowsPerMatvecTask;
  pool.parallel_for(tasks, [&](int task, int) {
    const int first = task * kRowsPerMatvecTask;
    const int last = std::min(w.rows, first + kRowsPerMatvecTask);
    for (int r = first; r < last; ++r) y[r] = dot_row(w, r, x);
  });
}

// A 4x4 block of dot products: out[t][r] for four token rows and four weight
// rows, sixteen accumulators that stay in registers for the whole row length.
void tile_4x4(const float* x, int x_stride, const float* w, int w_stride, int n,
              float* out, int out_stride) {
  using namespace simd;
  Vec acc[kTile][kTile];
  for (auto& row : acc)
    for (auto& v : row) v = zero();
  int c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    Vec xv[kTile], wv[kTile];
    for (int t = 0; t < kTile; ++t) xv[t] = load(x + t * x_stride + c);
    for (int r = 0; r < kTile; ++r) wv[r] = load(w + r * w_stride + c);
    for (int t = 0; t < kTile; ++t)
      for (int r = 0; r < kTile; ++r) acc[t][r] = fma(xv[t], wv[r], acc[t][r]);
  }
  for (int t = 0; t < kTile; ++t) {
    for (int r = 0; r < kTile; ++r) {
      float total = sum(acc[t][r]);
      for (int k = c; k < n; ++k) total += x[t * x_stride + k] * w[r * w_stride + k];
      out[t * out_stride + r] = total;
    }
  }
}

void matmul_blocked(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool) {
  const int n = w.cols;
  const int panel_rows =
      std::clamp((kPanelBytes / (n * static_cast<int>(sizeof(float)))) / kTile * kTile, kTile, 64);
  const int panels = (w.rows + panel_rows - 1) / panel_rows;
  const bool stored_f32 = w.type == GgmlType::F32;

  for (int t0 = 0; t0 < tokens; t0 += kTokenBlock) {
    const int block_tokens = std::min(kTokenBlock, tokens - t0);
    pool.parallel_for(panels, [&](int panel, int) {
      thread_local std::vector<float> converted;
      const int r0 = panel * panel_rows;
      const int rows = std::min(panel_rows, w.rows - r0);
      const float* panel_f32;
      if (stored_f32) {
        panel_f32 = reinterpret_cast<const float*>(w.row(r0));
      } else {
        converted.resize(static_cast<std::size_t>(rows) * n);
        for (int r = 0; r < rows; ++r) convert_row_to_f32(w.type, w.row(r0 + r), converted.data() + static_cast<std::size_t>(r) * n, n);
        panel_f32 = converted.data();
      }
      const float* x_block = in + static_cast<std::size_t>(t0) * n;
      float* out_block = out + static_cast<std::size_t>(t0) * w.rows + r0;
      int t = 0;
      for (; t + kTile <= block_tokens; t += kTile) {
        int r = 0;
        for (; r + kTile <= rows; r += kTile) {
          tile_4x4(x_block + static_cast<std::size_t>(t) * n, n, panel_f32 + static_cast<std::size_t>(r) * n, n, n,
                   out_block + static_cast<std::size_t>(t) * w.rows + r, w.rows);
        }
        for (; r < rows; ++r)
          for (int tt = t; tt < t + kTile; ++tt)
            out_block[static_cast<std::size_t>(tt) * w.rows + r] =
                simd::dot(x_block + static_cast<std::size_t>(tt) * n, panel_f32 + static_cast<std::size_t>(r) * n, n);
      }
      for (; t < block_tokens; ++t)
        for (int r = 0; r < rows; ++r)
          out_block[static_cast<std::size_t>(t) * w.rows + r] =
              simd::dot(x_block + static_cast<std::size_t>(t) * n, panel_f32 + static_cast<std::size_t>(r) * n, n);
    });
  }
}

}  // namespace

float dot_row(const WeightMatrix& w, int row, const float* x) {
  const std::uint8_t* data = w.row(row);
  switch (w.type) {
    case GgmlType::F32: return simd::dot(reinterpret_cast<const float*>(data), x, w.cols);
    case GgmlType::F16: return dot_f16(reinterpret_cast<const std::uint16_t*>(data), x, w.cols);
    case GgmlType::BF16: return dot_bf16(reinterpret_cast<const std::uint16_t*>(data), x, w.cols);
    case GgmlType::Q8_0: return dot_q8_0(reinterpret_cast<const BlockQ8_0*>(data), x, w.cols);
    default: return 0.0f;  // unreachable: bind_model_weights admits only the types above
  }
}

void matmul(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool) {
  if (tokens == 1) {
    matvec(w, in, out, pool);
  } else {
    matmul_blocked(w, in, out, tokens, pool);
  }
}

}  // namespace snapkv
