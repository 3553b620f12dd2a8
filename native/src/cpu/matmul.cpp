#include "cpu/matmul.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/block_decoders.h"
#include "cpu/kernel_choice.h"
#include "cpu/matmul_quantized.h"
#include "cpu/number_formats.h"
#include "cpu/simd.h"
#include "cpu/thread_pool.h"

namespace snapkv {

// Every output element, whichever path computes it (a 4x4 tile, a leftover
// row, the one-token matrix-vector product), is summed in one canonical order:
// one vector accumulator over the columns in steps of kLanes, fused
// multiply-adds, a horizontal sum, then the leftover columns with scalar fused
// multiply-adds. Weights are widened to f32 first, each to one fixed value
// (F16, BF16 and a Q8_0 scale times an int8 are exact in f32; the other block
// formats decode as cpu/block_decoders.h explains). A token's result therefore does
// not depend on which other tokens share its batch: prefilling a prompt in one
// piece, in chunks, layer by layer or token by token gives the same bits.

namespace {

using namespace simd;

constexpr int kTokenBlock = 32;         // tokens that share one pass over a weight panel
constexpr int kPanelBytes = 96 * 1024;  // f32 weight panel kept in L2
constexpr int kTile = 4;                // 4 tokens x 4 rows per micro-kernel
constexpr int kMatvecRows = 4;          // rows per matrix-vector step: independent FMA chains
constexpr int kRowsPerMatvecTask = 32;

// Loads kLanes consecutive weights of one stored row as f32.
struct F32Row {
  const float* w;
  Vec lanes(int c) const { return load(w + c); }
  float at(int c) const { return w[c]; }
};

struct F16Row {
  const std::uint16_t* w;
  Vec lanes(int c) const {
#if defined(__AVX512F__)
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c)));
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + c)));
#else
    return f16_to_f32(w[c]);
#endif
  }
  float at(int c) const { return f16_to_f32(w[c]); }
};

struct BF16Row {
  const std::uint16_t* w;
  Vec lanes(int c) const {
#if defined(__AVX512F__)
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
#elif defined(__AVX2__) && defined(__FMA__)
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + c)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
#else
    return bf16_to_f32(w[c]);
#endif
  }
  float at(int c) const { return bf16_to_f32(w[c]); }
};

// Q8_0 blocks hold 32 values and kLanes divides 32, so a lane group never
// straddles two blocks.
struct Q8Row {
  const BlockQ8_0* blocks;
  Vec lanes(int c) const {
    const BlockQ8_0& block = blocks[c / 32];
    const std::int8_t* q = block.quants + c % 32;
    const Vec scale = broadcast(f16_to_f32(block.scale_f16));
#if defined(__AVX512F__)
    return mul(scale, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)))));
#elif defined(__AVX2__) && defined(__FMA__)
    return mul(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)))));
#else
    return mul(scale, static_cast<float>(*q));
#endif
  }
  float at(int c) const {
    const BlockQ8_0& block = blocks[c / 32];
    return f16_to_f32(block.scale_f16) * static_cast<float>(block.quants[c % 32]);
  }
};

template <typename Row>
float canonical_dot(const Row& row, const float* x, int n) {
  Vec acc = zero();
  int c = 0;
  for (; c + kLanes <= n; c += kLanes) acc = fma(load(x + c), row.lanes(c), acc);
  float total = sum(acc);
  for (; c < n; ++c) total = std::fma(x[c], row.at(c), total);
  return total;
}

// Four rows against one vector: four independent chains, each in canonical order.
template <typename Row>
void canonical_dot4(const Row* rows, const float* x, int n, float* out) {
  Vec acc[kMatvecRows] = {zero(), zero(), zero(), zero()};
  int c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    const Vec xv = load(x + c);
    for (int r = 0; r < kMatvecRows; ++r) acc[r] = fma(xv, rows[r].lanes(c), acc[r]);
  }
  for (int r = 0; r < kMatvecRows; ++r) {
    float total = sum(acc[r]);
    for (int k = c; k < n; ++k) total = std::fma(x[k], rows[r].at(k), total);
    out[r] = total;
  }
}

template <typename Row>
Row row_of(const WeightMatrix& w, int r);
template <>
F32Row row_of<F32Row>(const WeightMatrix& w, int r) { return {reinterpret_cast<const float*>(w.row(r))}; }
template <>
F16Row row_of<F16Row>(const WeightMatrix& w, int r) { return {reinterpret_cast<const std::uint16_t*>(w.row(r))}; }
template <>
BF16Row row_of<BF16Row>(const WeightMatrix& w, int r) { return {reinterpret_cast<const std::uint16_t*>(w.row(r))}; }
template <>
Q8Row row_of<Q8Row>(const WeightMatrix& w, int r) { return {reinterpret_cast<const BlockQ8_0*>(w.row(r))}; }

// The other block formats (legacy 4- and 5-bit, K-quants) decode a chunk of
// whole blocks into an f32 buffer, which then joins the canonical order like an
// F32 row: a chunk is a multiple of 32 values, hence of kLanes, so the vector
// accumulator sees the same weights at the same steps. Row lengths are whole
// blocks (the GGUF reader checks), so there are no leftover columns.
constexpr int kChunkValues = 256;

float block_dot(const BlockFormat& format, const std::uint8_t* row, const float* x, int n) {
  alignas(64) float w[kChunkValues];
  Vec acc = zero();
  for (int c0 = 0; c0 < n; c0 += kChunkValues) {
    const int length = std::min(kChunkValues, n - c0);
    format.decode(row + static_cast<std::size_t>(c0 / format.values) * format.bytes, length / format.values, w);
    for (int c = 0; c < length; c += kLanes) acc = fma(load(x + c0 + c), load(w + c), acc);
  }
  return sum(acc);
}

// Four rows at once: four independent chains, each in canonical order.
void block_dot4(const BlockFormat& format, const std::uint8_t* const* rows, const float* x, int n, float* out) {
  alignas(64) float w[kMatvecRows][kChunkValues];
  Vec acc[kMatvecRows] = {zero(), zero(), zero(), zero()};
  for (int c0 = 0; c0 < n; c0 += kChunkValues) {
    const int length = std::min(kChunkValues, n - c0);
    const std::size_t offset = static_cast<std::size_t>(c0 / format.values) * format.bytes;
    for (int r = 0; r < kMatvecRows; ++r) format.decode(rows[r] + offset, length / format.values, w[r]);
    for (int c = 0; c < length; c += kLanes) {
      const Vec xv = load(x + c0 + c);
      for (int r = 0; r < kMatvecRows; ++r) acc[r] = fma(xv, load(w[r] + c), acc[r]);
    }
  }
  for (int r = 0; r < kMatvecRows; ++r) out[r] = sum(acc[r]);
}

// The plain matrix-vector kernel of a block format. A type's fast kernel (int8
// dot products, same summation order or a tested bound) replaces it in matvec().
void matvec_blocks(const WeightMatrix& w, const BlockFormat& format, const float* x, float* y, ThreadPool& pool) {
  const int tasks = (w.rows + kRowsPerMatvecTask - 1) / kRowsPerMatvecTask;
  pool.parallel_for(tasks, [&](int task, int) {
    const int first = task * kRowsPerMatvecTask;
    const int last = std::min(w.rows, first + kRowsPerMatvecTask);
    int r = first;
    for (; r + kMatvecRows <= last; r += kMatvecRows) {
      const std::uint8_t* rows[kMatvecRows] = {w.row(r), w.row(r + 1), w.row(r + 2), w.row(r + 3)};
      block_dot4(format, rows, x, w.cols, y + r);
    }
    for (; r < last; ++r) y[r] = block_dot(format, w.row(r), x, w.cols);
  });
}

template <typename Row>
void matvec_typed(const WeightMatrix& w, const float* x, float* y, ThreadPool& pool) {
  const int tasks = (w.rows + kRowsPerMatvecTask - 1) / kRowsPerMatvecTask;
  pool.parallel_for(tasks, [&](int task, int) {
    const int first = task * kRowsPerMatvecTask;
    const int last = std::min(w.rows, first + kRowsPerMatvecTask);
    int r = first;
    for (; r + kMatvecRows <= last; r += kMatvecRows) {
      const Row rows[kMatvecRows] = {row_of<Row>(w, r), row_of<Row>(w, r + 1), row_of<Row>(w, r + 2), row_of<Row>(w, r + 3)};
      canonical_dot4(rows, x, w.cols, y + r);
    }
    for (; r < last; ++r) y[r] = canonical_dot(row_of<Row>(w, r), x, w.cols);
  });
}

void matvec(const WeightMatrix& w, const float* x, float* y, ThreadPool& pool) {
  switch (w.type) {
    case GgmlType::F32: return matvec_typed<F32Row>(w, x, y, pool);
    case GgmlType::F16: return matvec_typed<F16Row>(w, x, y, pool);
    case GgmlType::BF16: return matvec_typed<BF16Row>(w, x, y, pool);
    case GgmlType::Q8_0: return matvec_typed<Q8Row>(w, x, y, pool);
    default: {
      const BlockFormat* format = block_format(w.type);
      if (format != nullptr) matvec_blocks(w, *format, x, y, pool);
      return;  // bind_model_weights admits only types with a format here
    }
  }
}

// A 4x4 block of dot products: out[t][r] for four token rows and four f32
// weight rows, sixteen accumulators that stay in registers for the whole row.
void tile_4x4(const float* x, int x_stride, const float* w, int w_stride, int n, float* out, int out_stride) {
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
      for (int k = c; k < n; ++k) total = std::fma(x[t * x_stride + k], w[r * w_stride + k], total);
      out[t * out_stride + r] = total;
    }
  }
}

void matmul_blocked(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool) {
  const int n = w.cols;
  const int panel_rows = std::clamp((kPanelBytes / (n * static_cast<int>(sizeof(float)))) / kTile * kTile, kTile, 64);
  const int panels = (w.rows + panel_rows - 1) / panel_rows;
  const bool stored_f32 = w.type == GgmlType::F32;
  const auto stride = static_cast<std::size_t>(n);

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
        converted.resize(static_cast<std::size_t>(rows) * stride);
        for (int r = 0; r < rows; ++r) convert_row_to_f32(w.type, w.row(r0 + r), converted.data() + r * stride, n);
        panel_f32 = converted.data();
      }
      const float* x_block = in + static_cast<std::size_t>(t0) * stride;
      float* out_block = out + static_cast<std::size_t>(t0) * w.rows + r0;
      auto single = [&](int t, int r) {
        out_block[static_cast<std::size_t>(t) * w.rows + r] = canonical_dot(F32Row{panel_f32 + r * stride}, x_block + t * stride, n);
      };
      int t = 0;
      for (; t + kTile <= block_tokens; t += kTile) {
        int r = 0;
        for (; r + kTile <= rows; r += kTile) {
          tile_4x4(x_block + t * stride, n, panel_f32 + r * stride, n, n, out_block + static_cast<std::size_t>(t) * w.rows + r, w.rows);
        }
        for (; r < rows; ++r)
          for (int tt = t; tt < t + kTile; ++tt) single(tt, r);
      }
      for (; t < block_tokens; ++t)
        for (int r = 0; r < rows; ++r) single(t, r);
    });
  }
}

}  // namespace

float dot_row(const WeightMatrix& w, int row, const float* x) {
  switch (w.type) {
    case GgmlType::F32: return canonical_dot(row_of<F32Row>(w, row), x, w.cols);
    case GgmlType::F16: return canonical_dot(row_of<F16Row>(w, row), x, w.cols);
    case GgmlType::BF16: return canonical_dot(row_of<BF16Row>(w, row), x, w.cols);
    case GgmlType::Q8_0: return canonical_dot(row_of<Q8Row>(w, row), x, w.cols);
    default: {
      const BlockFormat* format = block_format(w.type);
      return format != nullptr ? block_dot(*format, w.row(row), x, w.cols) : 0.0f;
    }
  }
}

void matmul(const WeightMatrix& w, const float* in, float* out, int tokens, ThreadPool& pool) {
  if (!w.exact && quantized_matmul_applies(w, tokens, active_quant_kernels())) {
    matmul_quantized(w, in, out, tokens, pool, active_quant_kernels());
  } else if (tokens == 1) {
    matvec(w, in, out, pool);
  } else {
    matmul_blocked(w, in, out, tokens, pool);
  }
}

}  // namespace snapkv
