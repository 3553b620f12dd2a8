#include "cpu/vector_ops.h"

#include <cmath>
#include <vector>

#include "cpu/number_formats.h"
#include "cpu/simd.h"

namespace snapkv {

void rms_norm(const float* x, const float* weight, float* out, int rows, int width, float eps) {
  for (int t = 0; t < rows; ++t) {
    const float* in = x + static_cast<std::size_t>(t) * width;
    float* o = out + static_cast<std::size_t>(t) * width;
    double squares = 0;
    for (int i = 0; i < width; ++i) squares += static_cast<double>(in[i]) * in[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(squares / width + eps));
    for (int i = 0; i < width; ++i) o[i] = in[i] * scale * weight[i];
  }
}

void apply_rope(float* x, const int* positions, int rows, int heads, int head_dim, const RopeFrequencies& rope,
                RopeLayout layout) {
  const int pairs = head_dim / 2;
  std::vector<float> cos_table(static_cast<std::size_t>(pairs)), sin_table(static_cast<std::size_t>(pairs));
  for (int t = 0; t < rows; ++t) {
    // Angles in double so that large positions keep their phase accurately.
    for (int i = 0; i < pairs; ++i) {
      const double angle = positions[t] * rope.theta[static_cast<std::size_t>(i)];
      cos_table[i] = static_cast<float>(std::cos(angle) * rope.magnitude);
      sin_table[i] = static_cast<float>(std::sin(angle) * rope.magnitude);
    }
    for (int h = 0; h < heads; ++h) {
      float* v = x + (static_cast<std::size_t>(t) * heads + h) * head_dim;
      for (int i = 0; i < pairs; ++i) {
        const int a = layout == RopeLayout::AdjacentPairs ? 2 * i : i;
        const int b = layout == RopeLayout::AdjacentPairs ? 2 * i + 1 : i + pairs;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cos_table[i] - x1 * sin_table[i];
        v[b] = x0 * sin_table[i] + x1 * cos_table[i];
      }
    }
  }
}

void apply_rope(float* x, const int* positions, int rows, int heads, int head_dim, float freq_base,
                RopeLayout layout) {
  RopeFrequencies plain;
  for (int i = 0; i < head_dim / 2; ++i) plain.theta.push_back(std::pow(static_cast<double>(freq_base), -2.0 * i / head_dim));
  apply_rope(x, positions, rows, heads, head_dim, plain, layout);
}

void add_bias(float* x, const float* bias, int rows, int width) {
  for (int t = 0; t < rows; ++t) add_in_place(x + static_cast<std::size_t>(t) * width, bias, static_cast<std::size_t>(width));
}

void swiglu(float* gate, const float* up, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_in_place(float* x, const float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
}

void embed_tokens(const WeightMatrix& embedding, const int* tokens, int count, float* out) {
  for (int t = 0; t < count; ++t) {
    convert_row_to_f32(embedding.type, embedding.row(tokens[t]), out + static_cast<std::size_t>(t) * embedding.cols,
                       embedding.cols);
  }
}

}  // namespace snapkv
