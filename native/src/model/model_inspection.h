#pragma once
// What a GGUF file is and whether this engine runs it, from its header and
// tensor directory alone: the same checks as Model::load (configuration,
// metadata keys, every tensor bound, weight types) without reading weights.
// The one owner of "runs here" for listings of the models on a machine.
#include <cstddef>
#include <map>
#include <string>

#include "model/model_config.h"

namespace snapkv {

struct ModelInspection {
  bool runs = false;
  std::string error_code;  // error_code_name() of why not, when it does not run
  std::string error;
  std::string architecture;  // general.architecture, when the file names one
  std::string name;          // general.name
  bool configured = false;   // `config` was read in full
  ModelConfig config;
  std::map<std::string, int> tensor_types;  // ggml type name -> tensors of that type
  std::size_t file_bytes = 0;
  std::size_t weight_bytes = 0;  // matrices, when the weights bound
};

// Never throws for a file that exists but is not runnable: the reason is in
// the result. Throws only when the file cannot be opened at all.
ModelInspection inspect_model(const std::string& path, const RopeScalingRequest& request);

}  // namespace snapkv
