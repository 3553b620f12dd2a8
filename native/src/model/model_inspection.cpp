#include "model/model_inspection.h"

#include "common/engine_error.h"
#include "gguf/gguf_file.h"
#include "model/model_weights.h"

namespace snapkv {

ModelInspection inspect_model(const std::string& path, const RopeScalingRequest& request) {
  ModelInspection result;
  std::unique_ptr<GgufFile> file;
  try {
    file = std::make_unique<GgufFile>(path);
  } catch (const EngineError& error) {
    if (error.code() == ErrorCode::Io) throw;
    result.error_code = error_code_name(error.code());
    result.error = error.what();
    return result;
  }
  result.file_bytes = file->file_size();
  for (const GgufTensor& tensor : file->tensors()) ++result.tensor_types[ggml_type_name(tensor.type)];
  if (const GgufValue* arch = file->find("general.architecture")) {
    if (arch->type == GgufValueType::String) result.architecture = arch->string_value;
  }
  if (const GgufValue* name = file->find("general.name")) {
    if (name->type == GgufValueType::String) result.name = name->string_value;
  }
  try {
    ModelConfig config = read_model_config(*file, request);
    result.config = config;
    result.configured = true;  // the shape and context are known even if a tensor is refused below
    const ModelWeights weights = bind_model_weights(*file, config, BindMode::Check);
    result.config = config;
    result.weight_bytes = weights.matrix_bytes;
    result.runs = true;
  } catch (const EngineError& error) {
    result.error_code = error_code_name(error.code());
    result.error = error.what();
  }
  return result;
}

}  // namespace snapkv
