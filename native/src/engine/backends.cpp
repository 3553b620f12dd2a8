#include "engine/backend.h"

namespace snapkv {

std::unique_ptr<Backend> create_backend(BackendKind kind, const Model& model, const BackendOptions& options) {
  switch (kind) {
    case BackendKind::Cpu: return create_cpu_backend(model);
    case BackendKind::Cuda: return create_cuda_backend(model, options);
  }
  return create_cpu_backend(model);
}

}  // namespace snapkv
