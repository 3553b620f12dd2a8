#pragma once
// SnapKV's observation: how much the last `window` prompt queries attend to
// each earlier prompt position (DESIGN.md section 3), computed over the CPU's
// attention tiles (cpu/attention_tile.h): the keys of a KV head are widened
// once per tile for all its query heads and window queries together.
#include <cstddef>
#include <vector>

namespace snapkv {

class ThreadPool;

// Pass 1's weights are kept for pass 2 up to this many floats (64 MiB, which
// the calling thread holds on to) when the keys have a base (a question over a
// prefix): a 32K prompt of Qwen2.5-0.5B or Qwen2.5-Coder-1.5B fits. Longer
// prompts, and one-shot passes (which hold one layer's keys and no more),
// score their tiles twice instead.
constexpr std::size_t kKeptWeightFloats = std::size_t{16} << 20;
struct ModelConfig;
struct PromptKeys;

// For each query head h: the sum over the window queries (at positions
// length - window .. length - 1, causal among themselves) of their f32 softmax
// probabilities on each column j < length - window. window_queries: `window`
// rows of heads x head_dim, RoPE applied. The keys hold the model's KV heads.
std::vector<std::vector<float>> window_attention_sums(const PromptKeys& keys, const float* window_queries, int window,
                                                      const ModelConfig& config, ThreadPool& pool,
                                                      std::size_t kept_weight_floats = kKeptWeightFloats);

}  // namespace snapkv
