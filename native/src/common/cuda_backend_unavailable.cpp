// Built instead of native/src/cuda/ when nvcc was not found at install.
#include "common/engine_error.h"
#include "engine/backend.h"

namespace snapkv {

std::unique_ptr<Backend> create_cuda_backend(const Model&, const BackendOptions&) {
  fail(ErrorCode::BackendUnavailable,
       "this engine was built without CUDA (nvcc was not found when it was installed); install the CUDA toolkit "
       "and run npm install again, or use backend 'cpu'");
}

}  // namespace snapkv
