#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/cuda_probe.h"
#include "common/engine_error.h"
#include "cpu/number_formats.h"
#include "cuda/cuda_errors.h"
#include "cuda/snapkv_compressor.h"
#include "cuda_check.h"
#include "embedding.h"
#include "engine/kv_placement.h"
#include "engine/compact_cache.h"
#include "flash_attention.h"
#include "snapkv_scores.h"
#include "model/model.h"

namespace snapkv::cuda {

namespace {

constexpr std::size_t kBf16 = sizeof(std::uint16_t);

std::uint16_t f32_to_bf16_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<std::uint16_t>(bits >> 16);
}

// A layer of a store as the kernels read it: the store's own memory, or a
// copy in `staging` when the store is in pinned host memory.
LayerKv stage_layer(const DeviceKvStore& store, int layer, int slots, int staged_capacity, Allocation& staging,
                    const std::shared_ptr<MemoryBudget>& budget, cudaStream_t stream) {
  LayerKv kv;
  kv.heads = store.heads();
  if (store.placement() == KvPlacement::Device) {
    kv.keys = store.block(layer, 0);
    kv.values = store.block(layer, 1);
    kv.head_stride = store.head_stride();
    return kv;
  }
  const std::size_t head_stride = static_cast<std::size_t>(std::max(staged_capacity, 1)) * store.head_dim();
  const std::size_t block = head_stride * store.heads();
  if (staging.bytes() < 2 * block * kBf16) {
    staging = Allocation();
    staging = Allocation(budget, MemoryKind::Device, 2 * block * kBf16, "one layer of a prompt cache held in host memory");
  }
  kv.keys = staging.as<std::uint16_t>();
  kv.values = kv.keys + block;
  kv.head_stride = head_stride;
  if (slots > 0) {
    for (int kind = 0; kind < 2; ++kind) {
      gpu::check_cuda(cudaMemcpy2DAsync(kind == 0 ? kv.keys : kv.values, head_stride * kBf16, store.block(layer, kind),
                                        store.head_stride() * kBf16,
                                        static_cast<std::size_t>(slots) * store.head_dim() * kBf16, store.heads(),
                                        cudaMemcpyHostToDevice, stream),
                      "staging a layer of the prompt cache");
    }
  }
  return kv;
}

// Copies slots [from, from + count) of a staged layer back to its host store.
void unstage_layer(const DeviceKvStore& store, int layer, const LayerKv& staged, int from, int count,
                   cudaStream_t stream) {
  if (store.placement() == KvPlacement::Device || count <= 0) return;
  const std::size_t offset = static_cast<std::size_t>(from) * store.head_dim();
  for (int kind = 0; kind < 2; ++kind) {
    gpu::check_cuda(cudaMemcpy2DAsync(store.block(layer, kind) + offset, store.head_stride() * kBf16,
                                      (kind == 0 ? staged.keys : staged.values) + offset, staged.head_stride * kBf16,
                                      static_cast<std::size_t>(count) * store.head_dim() * kBf16, store.heads(),
                                      cudaMemcpyDeviceToHost, stream),
                    "writing a layer of the prompt cache back to host memory");
  }
}

}  // namespace

// Long prompts get buffers of their own, freed when done; short runs (a
// generated token, a question) reuse the backend's, without an allocation
// per token.
CudaBackend::Rows CudaBackend::embed_rows(const int* tokens, int count, int first_position) {
  const ModelConfig& c = model_.config();
  const auto n = static_cast<std::size_t>(count);
  const std::size_t hidden_bytes = n * c.hidden * sizeof(float);
  Rows rows;
  if (count <= kChunkRows) {
    rows.hidden = small_hidden_.as<float>(n * c.hidden);
    rows.tokens = small_tokens_.as<int>(n);
    rows.positions = small_positions_.as<int>(n);
  } else {
    rows.owned_hidden = Allocation(budget_, MemoryKind::Device, hidden_bytes, "the hidden states of the prompt");
    rows.owned_ids = Allocation(budget_, MemoryKind::Device, 2 * n * sizeof(int), "the prompt's tokens and positions");
    rows.hidden = rows.owned_hidden.as<float>();
    rows.tokens = rows.owned_ids.as<int>();
    rows.positions = rows.tokens + n;
  }
  std::vector<int> positions(n);
  for (std::size_t t = 0; t < n; ++t) positions[t] = first_position + static_cast<int>(t);
  // On the backend's stream, which does not wait for the legacy default
  // stream: the kernels after must see these. A copy from pageable memory
  // has taken the source by the time it returns, so `positions` may go.
  gpu::check_cuda(cudaMemcpyAsync(rows.tokens, tokens, n * sizeof(int), cudaMemcpyHostToDevice, stream_.get()),
                  "uploading tokens");
  gpu::check_cuda(cudaMemcpyAsync(rows.positions, positions.data(), n * sizeof(int), cudaMemcpyHostToDevice,
                                  stream_.get()),
                  "uploading positions");
  gpu::embed_tokens(weights_->token_embedding, rows.tokens, count, gpu::DType::F32, rows.hidden, stream_.get());
  return rows;
}

Stream::Stream() { gpu::check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }

Stream::~Stream() {
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void Stream::synchronize(const char* what) const { gpu::check_cuda(cudaStreamSynchronize(stream_), what); }

DeviceKvStore& device_store(const KvStore& kv) {
  auto* store = dynamic_cast<DeviceKvStore*>(const_cast<KvStore*>(&kv));
  if (store == nullptr) fail(ErrorCode::InvalidArgument, "this cache does not belong to the CUDA backend");
  return *store;
}

namespace {

// Checks that the kernels take the model's shape, makes `device` current and
// names it ("NVIDIA H100 80GB HBM3 (sm_90)").
std::string open_device(const Model& model, int device) {
  const ModelConfig& c = model.config();
  if (!gpu::flash_attention_supports_head_dim(c.head_dim)) {
    fail(ErrorCode::UnsupportedModel, "the CUDA kernels take head dimensions 16, 32, 64 and 128, and '",
         model.file().path(), "' has ", c.head_dim, "; use backend 'cpu'");
  }
  // The CUDA layer pass does plain RoPE, q/k/v biases and no q/k norms; a model
  // that needs more is refused here so that backend 'auto' falls back to the CPU.
  if (c.qk_norm || c.partial_bias || !c.plain_rope()) {
    fail(ErrorCode::UnsupportedModel, "the CUDA backend does not yet run '", model.file().path(), "' (",
         c.qk_norm ? "per-head q/k norms" : c.partial_bias ? "an attention output bias or partial q/k/v biases"
         : c.rope_freq_factors ? "RoPE frequency factors" : "RoPE scaling",
         "); use backend 'cpu'");
  }
  if (c.hidden % 8 != 0 || c.q_dim() % 8 != 0 || c.kv_dim() % 8 != 0 || c.ffn % 8 != 0) {
    fail(ErrorCode::UnsupportedModel, "the CUDA backend needs widths that are multiples of 8 (hidden ", c.hidden,
         ", feed-forward ", c.ffn, "); use backend 'cpu'");
  }
  gpu::check_cuda(cudaSetDevice(device), "cudaSetDevice");
  cudaDeviceProp properties{};
  gpu::check_cuda(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties");
  return std::string(properties.name) + " (sm_" + std::to_string(properties.major) + std::to_string(properties.minor) +
         ")";
}

// The budget the options ask for, or the default; refuses weights that cannot fit it.
std::shared_ptr<MemoryBudget> open_budget(const Model& model, const std::string& device_name,
                                          const BackendOptions& options) {
  std::size_t free_bytes = 0, total_bytes = 0;
  gpu::check_cuda(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const std::size_t budget = options.memory_budget > 0 ? std::min(options.memory_budget, free_bytes)
                                                       : default_memory_budget(free_bytes, total_bytes);
  const std::size_t needed = model.weights().matrix_bytes;
  if (needed > budget) {
    fail(ErrorCode::OutOfMemory, "the weights of '", model.file().path(), "' need ", format_bytes(needed),
         " and the engine may use ", format_bytes(budget), " of ", device_name, " (", format_bytes(free_bytes),
         " free of ", format_bytes(total_bytes),
         "); use a smaller model or quantization, free GPU memory, or use backend 'cpu'");
  }
  return std::make_shared<MemoryBudget>(device_name, budget);
}

}  // namespace

CudaBackend::CudaBackend(const Model& model, const BackendOptions& options)
    : model_(model),
      options_(options),
      device_name_(open_device(model, device_)),
      budget_(open_budget(model, device_name_, options)),
      weights_(std::make_unique<DeviceWeights>(model.weights(), model.config(), budget_, stream_.get())),
      runner_(std::make_unique<LayerRunner>(model.config(), *weights_, budget_)),
      logits_(budget_, "logits"),
      small_hidden_(budget_, "hidden states"),
      small_tokens_(budget_, "token ids"),
      small_positions_(budget_, "positions") {}

CudaBackend::~CudaBackend() {
  // Work still queued must finish before its buffers go.
  if (stream_.get() != nullptr) cudaStreamSynchronize(stream_.get());
}

KvType CudaBackend::kv_type() const {
  static_assert(kKvType == gpu::DType::BF16, "kv_type() names the device store's type");
  return KvType::BF16;
}

std::size_t CudaBackend::working_bytes(int capacity) const {
  const ModelConfig& c = model_.config();
  const std::size_t one_layer = DeviceKvStore::bytes_for(1, c.kv_heads, c.head_dim, capacity);
  const SnapKvParams defaults;
  const std::size_t compact = DeviceKvStore::bytes_for(c.layers, c.kv_heads, c.head_dim, defaults.budget + 1024);
  return LayerRunner::scratch_bytes(c, weights_->largest_matrix_elements(), kChunkRows) + 2 * one_layer + compact +
         one_shot_memory(c, defaults, 0, capacity, one_shot_sizes(defaults)).selection +
         static_cast<std::size_t>(c.vocab) * sizeof(float);
}

std::unique_ptr<KvStore> CudaBackend::create_kv(int cache_heads, int capacity, bool host_allowed) {
  const ModelConfig& c = model_.config();
  const std::size_t bytes = DeviceKvStore::bytes_for(c.layers, cache_heads, c.head_dim, capacity);
  const KvPlacement placement = host_allowed && options_.prefix_in_host_memory
                                    ? KvPlacement::PinnedHost
                                    : choose_kv_placement(*budget_, bytes, working_bytes(capacity), host_allowed);
  gpu::check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  const std::string what = "a KV cache of " + std::to_string(capacity) + " tokens";
  return std::make_unique<DeviceKvStore>(budget_, placement, c.layers, cache_heads, c.head_dim, capacity, what);
}

void CudaBackend::check_cancel(const std::atomic<bool>* cancel) {
  if (cancel == nullptr || !cancel->load()) return;
  // Queued kernels still use the pass's buffers, which are about to go.
  stream_.synchronize("stopping a cancelled computation");
  throw_if_cancelled(cancel);
}

void CudaBackend::run_pass(LayerPass& pass) {
  const ModelConfig& c = model_.config();
  cudaStream_t stream = stream_.get();
  Allocation own_staging, base_staging;
  const int own_length = pass.rows.first_slot + pass.rows.count;
  for (int l = 0; l < c.layers; ++l) {
    check_cancel(pass.cancel);
    const int own_layer = pass.own_has_every_layer ? l : 0;
    const LayerKv own = stage_layer(*pass.own, own_layer, pass.rows.first_slot, own_length, own_staging, budget_, stream);
    LayerKv base;
    if (pass.base != nullptr && pass.base_length > 0) {
      base = stage_layer(*pass.base, l, pass.base_length, pass.base_length, base_staging, budget_, stream);
    }
    for (int row0 = 0; row0 < pass.rows.count; row0 += kChunkRows) {
      const int rows = std::min(kChunkRows, pass.rows.count - row0);
      runner_->run(l, pass.rows, row0, rows, base, pass.base_length, own, stream);
    }
    if (pass.after_layer) {
      gpu::KvView keys;
      keys.type = kKvType;
      keys.heads = own.heads;
      keys.head_dim = c.head_dim;
      if (pass.base_length > 0) keys.base = base.segment(pass.base_length);
      keys.own = own.segment(own_length);
      pass.after_layer(l, keys);
    }
    unstage_layer(*pass.own, own_layer, own, pass.rows.first_slot, pass.rows.count, stream);
    if (pass.on_layer_done) {
      // Progress follows the GPU, not the queue (one wait per layer; decode steps report none).
      stream_.synchronize("running a layer");
      pass.on_layer_done(l + 1);
    }
  }
}

std::vector<float> CudaBackend::last_logits(const float* hidden, int count) {
  const ModelConfig& c = model_.config();
  float* device_logits = logits_.as<float>(static_cast<std::size_t>(c.vocab));
  runner_->logits(hidden + static_cast<std::size_t>(count - 1) * c.hidden, device_logits, stream_.get());
  std::vector<float> logits(static_cast<std::size_t>(c.vocab));
  gpu::check_cuda(cudaMemcpyAsync(logits.data(), device_logits, logits.size() * sizeof(float), cudaMemcpyDeviceToHost,
                                  stream_.get()),
                  "reading the logits");
  stream_.synchronize("computing the logits");
  return logits;
}

std::vector<float> CudaBackend::forward(KvStore& kv, const int* tokens, int count, const ForwardOptions& options) {
  const ModelConfig& c = model_.config();
  validate_tokens(model_, tokens, count);
  DeviceKvStore& store = device_store(kv);
  if (count > store.capacity() - store.length()) {
    fail(ErrorCode::CapacityExceeded, "the KV cache holds ", store.length(), " of ", store.capacity(),
         " tokens and cannot take ", count, " more; create it with a larger capacity");
  }
  gpu::check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  Rows rows = embed_rows(tokens, count, store.next_position());

  LayerPass pass;
  pass.rows.hidden = rows.hidden;
  pass.rows.positions = rows.positions;
  pass.rows.count = count;
  pass.rows.first_slot = store.length();
  pass.own = &store;
  pass.cancel = options.cancel;
  if (options.on_progress) {
    pass.on_layer_done = [&](int layers_done) {
      options.on_progress(static_cast<int>(static_cast<long long>(count) * layers_done / c.layers), count);
    };
  }
  run_pass(pass);

  std::vector<float> logits;
  if (options.logits == LogitsMode::Last) {
    logits = last_logits(pass.rows.hidden, count);
  } else if (options.logits == LogitsMode::All) {
    logits.resize(static_cast<std::size_t>(count) * c.vocab);
    for (int t = 0; t < count; ++t) {
      const std::vector<float> row = last_logits(pass.rows.hidden, t + 1);
      std::copy(row.begin(), row.end(), logits.begin() + static_cast<std::ptrdiff_t>(t) * c.vocab);
    }
  } else {
    stream_.synchronize("running the model");
  }
  store.reset(store.length() + count, store.next_position() + count);
  return logits;
}

std::vector<float> CudaBackend::compress(const CompressionPass& compression) {
  const ModelConfig& c = model_.config();
  const std::vector<int>& tokens = compression.tokens;
  const CompressOptions& options = compression.options;
  const int count = static_cast<int>(tokens.size());
  const int prompt_length = compression.prompt_length;
  const int base_length = compression.base_length;
  gpu::check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  cudaStream_t stream = stream_.get();

  // One layer's keys and values of the new rows, reused by every layer:
  // each layer is compressed before the next one runs.
  DeviceKvStore layer_kv(budget_, KvPlacement::Device, 1, c.kv_heads, c.head_dim, count,
                         "one layer of the prompt's keys and values");
  SnapKvCompressor compressor(c, options.snapkv, prompt_length, device_store(compression.compact), budget_);
  Rows rows = embed_rows(tokens.data(), count, base_length);

  LayerPass pass;
  pass.rows.hidden = rows.hidden;
  pass.rows.positions = rows.positions;
  pass.rows.count = count;
  pass.rows.first_slot = 0;
  if (!compressor.keeps_everything()) {
    pass.rows.window_from = count - options.snapkv.window;
    pass.rows.window_queries = compressor.window_queries();
  }
  pass.own = &layer_kv;
  pass.own_has_every_layer = false;
  if (compression.base != nullptr) {
    pass.base = &device_store(*compression.base);
    pass.base_length = base_length;
  }
  pass.cancel = options.cancel;
  pass.after_layer = [&](int layer, const gpu::KvView& keys) {
    compressor.compress_layer(layer, keys, compression.kept[static_cast<std::size_t>(layer)], stream);
  };
  if (options.on_progress) {
    // A question reports its own tokens; one-shot reports the prompt, layer by layer.
    pass.on_layer_done = [&](int layers_done) {
      options.on_progress(static_cast<int>(static_cast<long long>(count) * layers_done / c.layers), count);
    };
  }
  run_pass(pass);
  return last_logits(pass.rows.hidden, count);
}

OneShotSizes CudaBackend::one_shot_sizes(const SnapKvParams& params) const {
  const ModelConfig& c = model_.config();
  OneShotSizes sizes;
  sizes.chunk_scratch = LayerRunner::scratch_bytes(c, weights_->largest_matrix_elements(), kChunkRows);
  sizes.score_workspace = gpu::snapkv_score_workspace_bytes(c.heads, params.window);
  sizes.chunk_rows = kChunkRows;
  sizes.kv_row_bytes = static_cast<std::size_t>(c.head_dim) * gpu::dtype_bytes(kKvType);
  sizes.window_query_value_bytes = gpu::dtype_bytes(kKvType);
  return sizes;
}

std::size_t CudaBackend::reusable_bytes() const {
  return runner_->held_bytes() + logits_.bytes() + small_hidden_.bytes() + small_tokens_.bytes() +
         small_positions_.bytes();
}

std::optional<DeviceMemoryReport> CudaBackend::device_memory() const {
  return DeviceMemoryReport{device_name_, weights_->bytes(), budget_->budget(), budget_->in_use()};
}

std::optional<OneShotPlan> CudaBackend::plan_one_shot(long long length, const CompressOptions& options) {
  validate_snapkv_params(options.snapkv, model_.config());
  OneShotPlan plan;
  plan.device_name = device_name_;
  const OneShotSizes sizes = one_shot_sizes(options.snapkv);
  // The plan counts the reusable buffers in full, so what they hold now is free for it.
  plan.available = budget_->available() + reusable_bytes();
  plan.memory = one_shot_memory(model_.config(), options.snapkv, options.reserve_tokens, length, sizes);
  plan.longest = longest_one_shot(model_.config(), options.snapkv, options.reserve_tokens, sizes, plan.available,
                                  std::numeric_limits<int>::max());
  return plan;
}

void CudaBackend::read_kv(const KvStore& kv, int layer, int kind, int head, int length, float* out) {
  const DeviceKvStore& store = device_store(kv);
  const std::uint16_t* source = store.block(layer, kind) + static_cast<std::size_t>(head) * store.head_stride();
  const std::size_t count = static_cast<std::size_t>(length) * store.head_dim();
  std::vector<std::uint16_t> bits;
  if (store.placement() == KvPlacement::Device) {
    bits.resize(count);
    gpu::check_cuda(cudaMemcpyAsync(bits.data(), source, count * kBf16, cudaMemcpyDeviceToHost, stream_.get()),
                    "reading the KV cache");
    stream_.synchronize("reading the KV cache");
    source = bits.data();
  }
  for (std::size_t i = 0; i < count; ++i) out[i] = bf16_to_f32(source[i]);
}

void CudaBackend::write_kv(KvStore& kv, int layer, int kind, int head, int length, const float* values) {
  DeviceKvStore& store = device_store(kv);
  std::uint16_t* target = store.block(layer, kind) + static_cast<std::size_t>(head) * store.head_stride();
  const std::size_t count = static_cast<std::size_t>(length) * store.head_dim();
  if (store.placement() == KvPlacement::PinnedHost) {
    for (std::size_t i = 0; i < count; ++i) target[i] = f32_to_bf16_bits(values[i]);
    return;
  }
  std::vector<std::uint16_t> bits(count);
  for (std::size_t i = 0; i < count; ++i) bits[i] = f32_to_bf16_bits(values[i]);
  gpu::check_cuda(cudaMemcpyAsync(target, bits.data(), count * kBf16, cudaMemcpyHostToDevice, stream_.get()),
                  "writing the KV cache");
  stream_.synchronize("writing the KV cache");
}

}  // namespace snapkv::cuda

namespace snapkv {

std::unique_ptr<Backend> create_cuda_backend(const Model& model, const BackendOptions& options) {
  const CudaProbe probe = probe_cuda();
  if (!probe.usable) {
    fail(ErrorCode::BackendUnavailable, "the CUDA backend cannot be used: ", probe.message,
         "; use backend 'cpu' or 'auto'");
  }
  // Loading the weights onto the device is the first thing that can fail in the kernels' terms.
  return cuda::behind_error_boundary(
      cuda::with_engine_errors([&]() -> std::unique_ptr<Backend> { return std::make_unique<cuda::CudaBackend>(model, options); }));
}

}  // namespace snapkv
