#pragma once
// Row-wise operations of the transformer block on f32 activations.
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/rope_frequencies.h"

namespace snapkv {

class ThreadPool;

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, for `rows` rows of `width`.
void rms_norm(const float* x, const float* weight, float* out, int rows, int width, float eps);

// Rotates each head of each row in place: row t sits at absolute position
// positions[t]. `heads` heads of head_dim values per row.
void apply_rope(float* x, const int* positions, int rows, int heads, int head_dim, const RopeFrequencies& rope,
                RopeLayout layout);
// The plain rotation by position * base^(-2i/d), no scaling.
void apply_rope(float* x, const int* positions, int rows, int heads, int head_dim, float freq_base,
                RopeLayout layout);

// x[t] += bias for every row.
void add_bias(float* x, const float* bias, int rows, int width);

// gate = silu(gate) * up, element-wise over n values.
void swiglu(float* gate, const float* up, std::size_t n);

// x += y, element-wise.
void add_in_place(float* x, const float* y, std::size_t n);

// out[t] = the f32 embedding row of tokens[t].
void embed_tokens(const WeightMatrix& embedding, const int* tokens, int count, float* out);

}  // namespace snapkv
