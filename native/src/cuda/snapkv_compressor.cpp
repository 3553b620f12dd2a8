#include "cuda/snapkv_compressor.h"

#include <algorithm>
#include <limits>

#include "cuda_check.h"
#include "snapkv_scores.h"
#include "snapkv_select.h"

namespace snapkv::cuda {

namespace {

int cache_heads_for(const ModelConfig& c, const SnapKvParams& params) {
  return params.gqa == GqaMode::Mean ? c.kv_heads : c.heads;
}

std::size_t scored_columns(const SnapKvParams& params, int prompt_length) {
  return prompt_length < params.budget ? 0 : static_cast<std::size_t>(prompt_length - params.window);
}

}  // namespace

SnapKvCompressor::SnapKvCompressor(const ModelConfig& config, const SnapKvParams& params, int prompt_length,
                                   DeviceKvStore& compact, const std::shared_ptr<MemoryBudget>& budget)
    : config_(config),
      params_(params),
      prompt_length_(prompt_length),
      keep_all_(prompt_length < params.budget),
      cache_heads_(cache_heads_for(config, params)),
      kept_(std::min(prompt_length, params.budget)),
      compact_(compact) {
  const auto heads = static_cast<std::size_t>(cache_heads_);
  const std::size_t scored = scored_columns(params, prompt_length);
  const char* what = "SnapKV selection";
  if (!keep_all_) {
    window_queries_ = Allocation(budget, MemoryKind::Device,
                                 static_cast<std::size_t>(params.window) * config.q_dim() * sizeof(std::uint16_t), what);
    scores_ = Allocation(budget, MemoryKind::Device, heads * scored * sizeof(float), what);
    pooled_ = Allocation(budget, MemoryKind::Device, heads * scored * sizeof(float), what);
    workspace_ = Allocation(budget, MemoryKind::Device, gpu::snapkv_score_workspace_bytes(config.heads, params.window),
                            what);
  }
  positions_ = Allocation(budget, MemoryKind::Device, heads * kept_ * sizeof(int), what);
  kept_scores_ = Allocation(budget, MemoryKind::Device, heads * kept_ * sizeof(float), what);
  host_positions_.resize(heads * kept_);
  host_scores_.resize(heads * kept_);
}

void SnapKvCompressor::compress_layer(int layer, const gpu::KvView& keys, std::vector<KeptHead>& kept,
                                      cudaStream_t stream) {
  int* positions = positions_.as<int>();
  float* kept_scores = kept_scores_.as<float>();
  if (keep_all_) {
    gpu::snapkv_keep_all(cache_heads_, prompt_length_, positions, kept_scores, stream);
  } else if (prompt_length_ == params_.window) {
    // budget == window == prompt: nothing is scored and the window is everything,
    // kept with the window's +infinity scores, as on the CPU.
    for (int h = 0; h < cache_heads_; ++h) {
      for (int i = 0; i < kept_; ++i) {
        host_positions_[static_cast<std::size_t>(h) * kept_ + i] = i;
        host_scores_[static_cast<std::size_t>(h) * kept_ + i] = std::numeric_limits<float>::infinity();
      }
    }
    gpu::check_cuda(cudaMemcpyAsync(positions, host_positions_.data(), host_positions_.size() * sizeof(int),
                                    cudaMemcpyHostToDevice, stream),
                    "writing the kept positions");
    gpu::check_cuda(cudaMemcpyAsync(kept_scores, host_scores_.data(), host_scores_.size() * sizeof(float),
                                    cudaMemcpyHostToDevice, stream),
                    "writing the kept scores");
  } else {
    const int scored = prompt_length_ - params_.window;
    gpu::SnapKvScoreJob job;
    job.window_queries = window_queries_.get();
    job.query_row_stride = static_cast<std::size_t>(config_.q_dim());
    job.window = params_.window;
    job.heads = config_.heads;
    job.keys = keys;
    job.gqa = params_.gqa == GqaMode::Mean ? gpu::GqaCombine::Mean : gpu::GqaCombine::Repeat;
    job.scores = scores_.as<float>();
    job.workspace = workspace_.get();
    gpu::snapkv_scores(job, stream);
    gpu::snapkv_pool(scores_.as<float>(), cache_heads_, scored, params_.kernel,
                     params_.pooling == Pooling::Max ? gpu::PoolKind::Max : gpu::PoolKind::Avg, pooled_.as<float>(),
                     stream);
    gpu::snapkv_select_top(pooled_.as<float>(), cache_heads_, scored, params_.budget, params_.window, positions,
                           kept_scores, stream);
  }
  gpu::CompactTarget target;
  target.keys = compact_.block(layer, 0);
  target.values = compact_.block(layer, 1);
  target.head_stride = compact_.head_stride();
  target.heads = cache_heads_;
  gpu::snapkv_gather(keys, positions, kept_, kept_, target, stream);

  gpu::check_cuda(cudaMemcpyAsync(host_positions_.data(), positions, host_positions_.size() * sizeof(int),
                                  cudaMemcpyDeviceToHost, stream),
                  "reading the kept positions");
  gpu::check_cuda(cudaMemcpyAsync(host_scores_.data(), kept_scores, host_scores_.size() * sizeof(float),
                                  cudaMemcpyDeviceToHost, stream),
                  "reading the kept scores");
  gpu::check_cuda(cudaStreamSynchronize(stream), "SnapKV selection");
  kept.resize(static_cast<std::size_t>(cache_heads_));
  for (int h = 0; h < cache_heads_; ++h) {
    const auto from = static_cast<std::ptrdiff_t>(h) * kept_;
    kept[h].positions.assign(host_positions_.begin() + from, host_positions_.begin() + from + kept_);
    kept[h].scores.assign(host_scores_.begin() + from, host_scores_.begin() + from + kept_);
  }
}

}  // namespace snapkv::cuda
