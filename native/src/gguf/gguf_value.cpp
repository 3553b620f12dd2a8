#include "gguf/gguf_value.h"

#include <cstring>

#include "common/engine_error.h"

namespace snapkv {

const char* gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::Bool: return "bool";
    case GgufValueType::String: return "string";
    case GgufValueType::Array: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::U16:
    case GgufValueType::I16: case GgufValueType::U32: case GgufValueType::I32:
    case GgufValueType::U64: case GgufValueType::I64:
      return true;
    default:
      return false;
  }
}

bool GgufValue::is_number() const {
  return is_integer() || type == GgufValueType::F32 || type == GgufValueType::F64;
}

std::size_t gguf_scalar_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::Bool: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    default: return 0;
  }
}

GgufValue decode_gguf_scalar(GgufValueType type, const std::uint8_t* bytes) {
  GgufValue value;
  value.type = type;
  auto read = [bytes](auto sample) {
    decltype(sample) x;
    std::memcpy(&x, bytes, sizeof x);
    return x;
  };
  switch (type) {
    case GgufValueType::U8: value.unsigned_value = read(std::uint8_t{}); break;
    case GgufValueType::Bool: value.unsigned_value = read(std::uint8_t{}); break;
    case GgufValueType::I8: value.signed_value = read(std::int8_t{}); break;
    case GgufValueType::U16: value.unsigned_value = read(std::uint16_t{}); break;
    case GgufValueType::I16: value.signed_value = read(std::int16_t{}); break;
    case GgufValueType::U32: value.unsigned_value = read(std::uint32_t{}); break;
    case GgufValueType::I32: value.signed_value = read(std::int32_t{}); break;
    case GgufValueType::U64: value.unsigned_value = read(std::uint64_t{}); break;
    case GgufValueType::I64: value.signed_value = read(std::int64_t{}); break;
    case GgufValueType::F32: value.float_value = read(float{}); break;
    case GgufValueType::F64: value.float_value = read(double{}); break;
    default: break;
  }
  return value;
}

GgufValue GgufValue::scalar_item(std::size_t i) const {
  const std::size_t size = gguf_scalar_size(item_type);
  if (type != GgufValueType::Array || size == 0 || i >= item_count) {
    fail(ErrorCode::InvalidArgument, "not a scalar array item");
  }
  return decode_gguf_scalar(item_type, scalar_bytes.data() + i * size);
}

namespace {
bool is_signed(GgufValueType type) {
  return type == GgufValueType::I8 || type == GgufValueType::I16 || type == GgufValueType::I32 ||
         type == GgufValueType::I64;
}
}  // namespace

std::int64_t GgufValue::as_int(const std::string& key) const {
  if (!is_integer()) {
    fail(ErrorCode::InvalidFile, "metadata '", key, "' should be an integer but is ",
         gguf_value_type_name(type));
  }
  if (is_signed(type)) return signed_value;
  if (unsigned_value > static_cast<std::uint64_t>(INT64_MAX)) {
    fail(ErrorCode::InvalidFile, "metadata '", key, "' is too large: ", unsigned_value);
  }
  return static_cast<std::int64_t>(unsigned_value);
}

double GgufValue::as_double(const std::string& key) const {
  if (type == GgufValueType::F32 || type == GgufValueType::F64) return float_value;
  if (is_integer()) return static_cast<double>(as_int(key));
  fail(ErrorCode::InvalidFile, "metadata '", key, "' should be a number but is ",
       gguf_value_type_name(type));
}

const std::string& GgufValue::as_string(const std::string& key) const {
  if (type != GgufValueType::String) {
    fail(ErrorCode::InvalidFile, "metadata '", key, "' should be a string but is ",
         gguf_value_type_name(type));
  }
  return string_value;
}

bool GgufValue::as_bool(const std::string& key) const {
  if (type == GgufValueType::Bool) return unsigned_value != 0;
  fail(ErrorCode::InvalidFile, "metadata '", key, "' should be a bool but is ",
       gguf_value_type_name(type));
}

}  // namespace snapkv
