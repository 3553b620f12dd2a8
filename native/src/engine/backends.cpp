#include "common/engine_error.h"
#include "engine/backend.h"

namespace snapkv {

std::unique_ptr<Backend> create_backend(const std::string& name, const Model& model, const BackendOptions& options) {
  if (name == "cpu") return create_cpu_backend(model, options.kv_type);
  if (name == "cuda") return create_cuda_backend(model, options);
  fail(ErrorCode::InvalidArgument, "there is no backend '", name, "'; this engine has 'cpu' and 'cuda'");
}

}  // namespace snapkv
