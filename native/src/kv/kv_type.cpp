#include "kv/kv_type.h"

#include "common/engine_error.h"

namespace snapkv {

const char* kv_type_name(KvType type) {
  switch (type) {
    case KvType::F32: return "f32";
    case KvType::F16: return "f16";
    case KvType::BF16: return "bf16";
    case KvType::Q8_0: return "q8_0";
  }
  return "unknown";
}

KvType parse_kv_type(const std::string& name) {
  if (name == "f32") return KvType::F32;
  if (name == "f16") return KvType::F16;
  if (name == "bf16") return KvType::BF16;
  if (name == "q8_0") return KvType::Q8_0;
  fail(ErrorCode::InvalidArgument, "kvType must be 'f16', 'bf16', 'q8_0' or 'f32', not '", name, "'");
}

std::size_t kv_row_bytes(KvType type, int head_dim) {
  const auto d = static_cast<std::size_t>(head_dim);
  switch (type) {
    case KvType::F32: return d * 4;
    case KvType::F16:
    case KvType::BF16: return d * 2;
    case KvType::Q8_0:
      if (head_dim % kQ8BlockValues != 0) {
        fail(ErrorCode::UnsupportedModel, "kvType 'q8_0' needs a head size that is a multiple of ", kQ8BlockValues,
             ", and this model's is ", head_dim, "; use kvType 'f16'");
      }
      return d / kQ8BlockValues * kQ8BlockBytes;
  }
  return d * 4;
}

}  // namespace snapkv
