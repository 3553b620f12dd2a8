#include "model/model.h"

namespace snapkv {

std::shared_ptr<Model> Model::load(const std::string& path, const ModelLoadOptions& options) {
  std::shared_ptr<Model> model(new Model());
  model->file_ = std::make_unique<GgufFile>(path);
  model->config_ = read_model_config(*model->file_);
  model->weights_ = bind_model_weights(*model->file_, model->config_);
  model->pool_ = std::make_unique<ThreadPool>(options.threads);
  return model;
}

std::size_t Model::kv_bytes_per_token(int cache_heads) const {
  return static_cast<std::size_t>(config_.layers) * 2 * cache_heads * config_.head_dim * sizeof(float);
}

}  // namespace snapkv
