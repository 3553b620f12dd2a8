#include "model/model.h"

#include <algorithm>

#include "common/engine_error.h"
#include "common/fnv_hash.h"

namespace snapkv {

namespace {

void use_fast_products(ModelWeights& weights) {
  for (LayerWeights& layer : weights.layers) {
    for (WeightMatrix* m : {&layer.wq, &layer.wk, &layer.wv, &layer.wo, &layer.w_gate, &layer.w_up, &layer.w_down}) {
      m->exact = false;
    }
  }
  weights.output.exact = false;
}

}  // namespace

std::shared_ptr<Model> Model::load(const std::string& path, const ModelLoadOptions& options) {
  std::shared_ptr<Model> model(new Model());
  model->file_ = std::make_unique<GgufFile>(path);
  model->config_ = read_model_config(*model->file_, options.rope_scaling);
  model->weights_ = bind_model_weights(*model->file_, model->config_);
  if (!options.exact) use_fast_products(model->weights_);
  for (float divisor : model->weights_.rope_freqs) {
    if (!(divisor > 0)) {
      fail(ErrorCode::InvalidFile, "'", path, "': rope_freqs.weight holds ", divisor,
           ", and RoPE frequency divisors must be positive");
    }
  }
  model->rope_ = rope_frequencies(model->config_, model->weights_.rope_freqs);
  kv_row_bytes(options.device.kv_type, model->config_.head_dim);  // refuses q8_0 for a head size it cannot block
  model->pool_ = std::make_unique<ThreadPool>(options.threads);
  model->fingerprint_ = fingerprint_file(*model->file_);
  if (!options.exact && options.backend == "cpu") {
    // The fast products round activations: a cache saved by them is not what
    // the exact path would compute, so it is kept apart.
    FnvHash hash;
    const char tag[] = "fast-cpu-products";
    hash.add(&model->fingerprint_, sizeof model->fingerprint_);
    hash.add(tag, sizeof tag);
    model->fingerprint_ = hash.value();
  }
  if (options.rope_scaling.set) {
    // Keys and values depend on the RoPE in use: a cache saved under one scaling
    // must not be read back under another.
    FnvHash hash;
    const RopeScaling& s = model->config_.rope_scaling;
    const int kind = static_cast<int>(s.kind);
    hash.add(&model->fingerprint_, sizeof model->fingerprint_);
    hash.add(&kind, sizeof kind);
    hash.add(&s.factor, sizeof s.factor);
    model->fingerprint_ = hash.value();
  }
  model->backend_ = create_backend(options.backend, *model, options.device);
  return model;
}

std::uint64_t Model::fingerprint_file(const GgufFile& file) {
  constexpr std::uint64_t kSampleBytes = 4096;
  FnvHash hash;
  std::uint64_t header_end = file.file_size();
  for (const GgufTensor& tensor : file.tensors()) header_end = std::min(header_end, tensor.file_offset);
  hash.add(file.bytes(), header_end);
  for (const GgufTensor& tensor : file.tensors()) hash.add(tensor.data, std::min(kSampleBytes, tensor.byte_size));
  const std::uint64_t size = file.file_size();
  hash.add(&size, sizeof size);
  return hash.value();
}

std::size_t Model::kv_bytes_per_token(int cache_heads) const {
  return static_cast<std::size_t>(config_.layers) * 2 * cache_heads * kv_row_bytes(kv_type(), config_.head_dim);
}

}  // namespace snapkv
