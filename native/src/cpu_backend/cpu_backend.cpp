#include "cpu_backend/cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/engine_error.h"
#include "common/host_memory.h"
#include "cpu/vector_ops.h"
#include "cpu_backend/cpu_kv_store.h"
#include "cpu_backend/kept_gather.h"
#include "engine/compact_cache.h"
#include "engine/layer_step.h"
#include "model/model.h"
#include "snapkv/window_queries.h"

namespace snapkv {

KvCache& cpu_cache(KvStore& store) {
  auto* cpu = dynamic_cast<CpuKvStore*>(&store);
  if (cpu == nullptr) fail(ErrorCode::InvalidArgument, "this cache does not belong to the CPU backend");
  return cpu->cache;
}

const KvCache& cpu_cache(const KvStore& store) { return cpu_cache(const_cast<KvStore&>(store)); }

std::unique_ptr<Backend> create_cpu_backend(const Model& model, KvType kv_type) {
  return std::make_unique<CpuBackend>(model, kv_type);
}

std::unique_ptr<KvStore> CpuBackend::create_kv(int cache_heads, int capacity, bool) {
  const ModelConfig& c = model_.config();
  return std::make_unique<CpuKvStore>(c.layers, cache_heads, c.head_dim, capacity, kv_type_);
}

std::vector<float> CpuBackend::forward(KvStore& kv, const int* tokens, int count, const ForwardOptions& options) {
  return run_forward(model_, cpu_cache(kv), tokens, count, options);
}

std::vector<float> CpuBackend::compress(const CompressionPass& pass) {
  const ModelConfig& c = model_.config();
  const CompressOptions& options = pass.options;
  const KvCache* base = pass.base != nullptr ? &cpu_cache(*pass.base) : nullptr;
  const int count = static_cast<int>(pass.tokens.size());
  const bool keep_all = pass.prompt_length < options.snapkv.budget;
  const int window = options.snapkv.window;
  const int chunk = std::max(1, std::min(options.chunk_tokens, count));

  // Layer by layer: the rows' hidden states travel from layer to layer and
  // only one layer's keys and values of the rows exist at a time, so a
  // one-shot prompt far longer than its full cache would be still fits.
  std::vector<float> hidden(static_cast<std::size_t>(count) * c.hidden);
  embed_tokens(model_.weights().token_embedding, pass.tokens.data(), count, hidden.data());
  KvCache layer_cache(1, c.kv_heads, c.head_dim, count, kv_type_);
  KvCache& compact = cpu_cache(pass.compact);
  WindowQueries window_queries(c.layers, c.heads, c.head_dim, pass.prompt_length - window, window);
  ChunkBuffers buffers(c, chunk);
  const std::size_t row_bytes = sizeof(float) * c.hidden;
  // Progress: a question (a few rows beside a long prefix) per chunk of each
  // layer, one-shot (the whole prompt) per layer.
  const auto report = [&](long long done) {
    if (options.on_progress) options.on_progress(static_cast<int>(done / c.layers), count);
  };

  for (int l = 0; l < c.layers; ++l) {
    for (int start = 0; start < count; start += chunk) {
      throw_if_cancelled(options.cancel);
      const int n = std::min(chunk, count - start);
      float* rows = hidden.data() + static_cast<std::size_t>(start) * c.hidden;
      std::memcpy(buffers.x.data(), rows, row_bytes * n);
      for (int t = 0; t < n; ++t) buffers.positions[t] = pass.base_length + start + t;
      run_layer(model_, l, layer_cache, 0, base, pass.base_length, buffers, n, start,
                keep_all ? nullptr : &window_queries);
      std::memcpy(rows, buffers.x.data(), row_bytes * n);
      if (base != nullptr) report(static_cast<long long>(count) * l + start + n);
    }
    const PromptKeys keys{base, pass.base_length, l, &layer_cache, count, 0};
    pass.kept[l] = select_positions(keys, window_queries.layer(l), options.snapkv, c, model_.pool());
    gather_kept(keys, pass.kept[l], compact, l, c);
    if (base == nullptr) report(static_cast<long long>(count) * (l + 1));
  }

  std::vector<float> logits(static_cast<std::size_t>(c.vocab));
  compute_logits(model_, hidden.data() + static_cast<std::size_t>(count - 1) * c.hidden, buffers.normed.data(), 1,
                 logits.data());
  return logits;
}

std::optional<OneShotPlan> CpuBackend::plan_one_shot(long long length, const CompressOptions& options) {
  const ModelConfig& c = model_.config();
  validate_snapkv_params(options.snapkv, c);
  // compress() above: every row's hidden state for the whole pass (no
  // reusable row buffers), one layer's keys and values in this backend's
  // type, every layer's window queries in f32, each query head's scores, and
  // per thread one row of attention scores while a chunk runs.
  OneShotSizes sizes;
  sizes.chunk_rows = 0;
  // Chunks are never longer than the prompt; a plan for the full chunk bounds a shorter prompt's.
  sizes.chunk_scratch = ChunkBuffers::bytes(c, std::max(1, options.chunk_tokens));
  sizes.kv_row_bytes = kv_row_bytes(kv_type_, c.head_dim);
  sizes.window_query_layers = c.layers;
  sizes.window_query_value_bytes = sizeof(float);
  sizes.score_rows_per_query_head = 2;
  sizes.attention_rows = model_.pool().size();
  OneShotPlan plan;
  plan.memory_kind = "host memory";
  plan.device_name = "this computer";
  plan.available = available_host_memory();
  plan.memory = one_shot_memory(c, options.snapkv, options.reserve_tokens, length, sizes);
  plan.longest = longest_one_shot(c, options.snapkv, options.reserve_tokens, sizes, plan.available,
                                  std::numeric_limits<int>::max());
  return plan;
}

void CpuBackend::read_kv(const KvStore& kv, int layer, int kind, int head, int length, float* out) {
  cpu_cache(kv).read_rows(layer, kind, head, 0, length, out);
}

void CpuBackend::write_kv(KvStore& kv, int layer, int kind, int head, int length, const float* values) {
  cpu_cache(kv).write_rows(layer, kind, head, 0, length, values);
}

}  // namespace snapkv
