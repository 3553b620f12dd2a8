#pragma once
// One metadata value of a GGUF file: a scalar, a string, or an array of values
// (arrays may nest).
#include <cstdint>
#include <string>
#include <vector>

namespace snapkv {

enum class GgufValueType : std::uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};

const char* gguf_value_type_name(GgufValueType type);
// Bytes of one number or bool of this type in a file; 0 for strings and arrays.
std::size_t gguf_scalar_size(GgufValueType type);

struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  std::uint64_t unsigned_value = 0;  // U8..U64 and Bool
  std::int64_t signed_value = 0;     // I8..I64
  double float_value = 0;            // F32, F64
  std::string string_value;

  // Arrays, stored by item kind: a tokenizer's hundreds of thousands of
  // strings or ids would cost a hundred bytes each as GgufValues.
  GgufValueType item_type = GgufValueType::U8;
  std::uint64_t item_count = 0;
  std::vector<std::string> string_items;    // arrays of strings
  std::vector<std::uint8_t> scalar_bytes;   // arrays of numbers or bools, little-endian as in the file
  std::vector<GgufValue> items;             // arrays of arrays

  // Item i of an array of numbers or bools, as a scalar value.
  GgufValue scalar_item(std::size_t i) const;

  bool is_integer() const;
  bool is_number() const;
  // Numeric conversions; each throws when the value is not of a fitting kind.
  std::int64_t as_int(const std::string& key) const;
  double as_double(const std::string& key) const;
  const std::string& as_string(const std::string& key) const;
  bool as_bool(const std::string& key) const;
};

// A number or bool of `type` from its little-endian bytes.
GgufValue decode_gguf_scalar(GgufValueType type, const std::uint8_t* bytes);

}  // namespace snapkv
