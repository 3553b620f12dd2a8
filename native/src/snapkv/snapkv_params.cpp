#include "snapkv/snapkv_params.h"

#include "common/engine_error.h"
#include "model/model_config.h"

namespace snapkv {

void validate_snapkv_params(const SnapKvParams& p, const ModelConfig& config) {
  if (p.window < 1) fail(ErrorCode::InvalidArgument, "window must be at least 1 token, got ", p.window);
  if (p.budget < p.window) {
    fail(ErrorCode::InvalidArgument, "budget (", p.budget, ") must be at least the window (", p.window,
         "): the window's own entries are part of the budget");
  }
  if (p.kernel < 1 || p.kernel % 2 == 0) {
    fail(ErrorCode::InvalidArgument, "kernel must be a positive odd number (1, 3, 5, 7, ...), got ", p.kernel);
  }
  if (p.budget > config.context_length) {
    fail(ErrorCode::InvalidArgument, "budget (", p.budget, ") is above the model's context length (",
         config.context_length, "); choose a budget of at most ", config.context_length);
  }
}

}  // namespace snapkv
