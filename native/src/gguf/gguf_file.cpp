#include "gguf/gguf_file.h"

#include <cstring>
#include <limits>

#include "common/engine_error.h"

namespace snapkv {

namespace {

constexpr std::uint32_t kMaxDims = 4;
constexpr int kMaxArrayNesting = 8;

// Reads little-endian values from the mapped bytes, refusing to read past the end.
class Cursor {
 public:
  Cursor(const std::uint8_t* data, std::size_t size, const std::string& path)
      : data_(data), size_(size), path_(path) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return size_ - offset_; }

  template <typename T>
  T read(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  // Counts and string lengths are u32 in GGUF version 1 and u64 from version 2.
  std::uint64_t read_count(bool wide, const char* what) {
    return wide ? read<std::uint64_t>(what) : read<std::uint32_t>(what);
  }

  std::string read_string(bool wide, const char* what) {
    std::uint64_t length = read_count(wide, what);
    if (length > remaining()) {
      fail(ErrorCode::InvalidFile, "'", path_, "' is truncated or corrupt: ", what, " at byte ",
           offset_, " claims ", length, " bytes but only ", remaining(), " remain");
    }
    std::string text(reinterpret_cast<const char*>(data_ + offset_), static_cast<std::size_t>(length));
    offset_ += static_cast<std::size_t>(length);
    return text;
  }

  const std::uint8_t* here() const { return data_ + offset_; }
  void skip(std::size_t bytes) { offset_ += bytes; }

  void need(std::size_t bytes, const char* what) const {
    if (bytes > remaining()) {
      fail(ErrorCode::InvalidFile, "'", path_, "' is truncated: reading ", what, " at byte ",
           offset_, " needs ", bytes, " bytes but the file has ", remaining(), " left");
    }
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
  const std::string& path_;
};

bool is_known_value_type(std::uint32_t id) { return id <= 12; }

class MetadataReader {
 public:
  MetadataReader(Cursor& cursor, bool wide, const std::string& path)
      : cursor_(cursor), wide_(wide), path_(path) {}

  GgufValue read_value(GgufValueType type, const std::string& key, int depth) {
    GgufValue value;
    value.type = type;
    switch (type) {
      case GgufValueType::U8: value.unsigned_value = cursor_.read<std::uint8_t>("a u8 value"); break;
      case GgufValueType::I8: value.signed_value = cursor_.read<std::int8_t>("an i8 value"); break;
      case GgufValueType::U16: value.unsigned_value = cursor_.read<std::uint16_t>("a u16 value"); break;
      case GgufValueType::I16: value.signed_value = cursor_.read<std::int16_t>("an i16 value"); break;
      case GgufValueType::U32: value.unsigned_value = cursor_.read<std::uint32_t>("a u32 value"); break;
      case GgufValueType::I32: value.signed_value = cursor_.read<std::int32_t>("an i32 value"); break;
      case GgufValueType::U64: value.unsigned_value = cursor_.read<std::uint64_t>("a u64 value"); break;
      case GgufValueType::I64: value.signed_value = cursor_.read<std::int64_t>("an i64 value"); break;
      case GgufValueType::F32: value.float_value = cursor_.read<float>("an f32 value"); break;
      case GgufValueType::F64: value.float_value = cursor_.read<double>("an f64 value"); break;
      case GgufValueType::Bool: {
        std::uint8_t byte = cursor_.read<std::uint8_t>("a bool value");
        if (byte > 1) {
          fail(ErrorCode::InvalidFile, "'", path_, "' is corrupt: metadata '", key,
               "' holds a bool of value ", int(byte));
        }
        value.unsigned_value = byte;
        break;
      }
      case GgufValueType::String: value.string_value = cursor_.read_string(wide_, "a string value"); break;
      case GgufValueType::Array: read_array(value, key, depth); break;
    }
    return value;
  }

 private:
  void read_array(GgufValue& value, const std::string& key, int depth) {
    if (depth >= kMaxArrayNesting) {
      fail(ErrorCode::InvalidFile, "'", path_, "' is corrupt: metadata '", key,
           "' nests arrays more than ", kMaxArrayNesting, " deep");
    }
    std::uint32_t item_type = cursor_.read<std::uint32_t>("an array item type");
    if (!is_known_value_type(item_type)) {
      fail(ErrorCode::InvalidFile, "'", path_, "' is corrupt: metadata '", key,
           "' is an array of unknown value type ", item_type);
    }
    value.item_type = static_cast<GgufValueType>(item_type);
    std::uint64_t count = cursor_.read_count(wide_, "an array length");
    // Every item takes at least one byte (strings and arrays at least their
    // length field), so a count above the bytes left is corrupt: checking it
    // first keeps a bad count from reserving gigabytes.
    const std::size_t scalar = gguf_scalar_size(value.item_type);
    std::size_t min_item = scalar;
    if (min_item == 0) min_item = wide_ ? 8 : 4;
    if (count > cursor_.remaining() / min_item) {
      fail(ErrorCode::InvalidFile, "'", path_, "' is truncated or corrupt: metadata '", key,
           "' claims ", count, " items but only ", cursor_.remaining(), " bytes remain");
    }
    value.item_count = count;
    if (scalar != 0) {
      const std::size_t bytes = static_cast<std::size_t>(count) * scalar;
      cursor_.need(bytes, "array items");
      value.scalar_bytes.assign(cursor_.here(), cursor_.here() + bytes);
      cursor_.skip(bytes);
      if (value.item_type == GgufValueType::Bool) {
        for (std::uint8_t byte : value.scalar_bytes) {
          if (byte > 1) {
            fail(ErrorCode::InvalidFile, "'", path_, "' is corrupt: metadata '", key, "' holds a bool of value ", int(byte));
          }
        }
      }
    } else if (value.item_type == GgufValueType::String) {
      value.string_items.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) value.string_items.push_back(cursor_.read_string(wide_, "a string in an array"));
    } else {
      value.items.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) value.items.push_back(read_value(value.item_type, key, depth + 1));
    }
  }

  Cursor& cursor_;
  bool wide_;
  const std::string& path_;
};

bool multiply_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& product) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return true;
  product = a * b;
  return false;
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : file_(std::make_unique<MappedFile>(path)) {
  Cursor cursor(file_->data(), file_->size(), path);
  if (file_->size() < 4 || std::memcmp(file_->data(), "GGUF", 4) != 0) {
    fail(ErrorCode::InvalidFile, "'", path,
         "' is not a GGUF file (wrong magic bytes); choose a .gguf model file as used by "
         "llama.cpp, Ollama or LM Studio");
  }
  cursor.read<std::uint32_t>("the magic");
  version_ = cursor.read<std::uint32_t>("the version");
  if (version_ < 1 || version_ > 3) {
    fail(ErrorCode::InvalidFile, "'", path, "' has GGUF version ", version_,
         ", which this engine does not read (versions 1 to 3 are supported)");
  }
  const bool wide = version_ >= 2;
  std::uint64_t tensor_count = cursor.read_count(wide, "the tensor count");
  std::uint64_t metadata_count = cursor.read_count(wide, "the metadata count");

  MetadataReader reader(cursor, wide, path);
  for (std::uint64_t i = 0; i < metadata_count; ++i) {
    std::string key = cursor.read_string(wide, "a metadata key");
    std::uint32_t type_id = cursor.read<std::uint32_t>("a metadata value type");
    if (!is_known_value_type(type_id)) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: metadata '", key,
           "' has unknown value type ", type_id);
    }
    GgufValue value = reader.read_value(static_cast<GgufValueType>(type_id), key, 0);
    if (!metadata_.emplace(key, std::move(value)).second) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: metadata key '", key, "' appears twice");
    }
  }

  if (const GgufValue* alignment = find("general.alignment")) {
    std::int64_t value = 0;
    try {
      value = alignment->as_int("general.alignment");
    } catch (const EngineError& error) {
      fail(error.code(), "'", path, "': ", error.what());
    }
    if (value <= 0 || (value & (value - 1)) != 0) {
      fail(ErrorCode::InvalidFile, "'", path, "' has general.alignment ", value,
           ", which is not a power of two");
    }
    alignment_ = static_cast<std::uint64_t>(value);
  }

  // Each tensor info takes at least a length, a dim count, a type and an offset.
  const std::size_t min_tensor_info = (wide ? 8 : 4) + 4 + 4 + 8;
  if (tensor_count > cursor.remaining() / min_tensor_info) {
    fail(ErrorCode::InvalidFile, "'", path, "' is truncated or corrupt: it claims ", tensor_count,
         " tensors but only ", cursor.remaining(), " bytes remain for their descriptions");
  }
  std::vector<std::uint64_t> relative_offsets;
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensor tensor;
    tensor.name = cursor.read_string(wide, "a tensor name");
    std::uint32_t n_dims = cursor.read<std::uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: tensor '", tensor.name, "' has ",
           n_dims, " dimensions (1 to ", kMaxDims, " allowed)");
    }
    tensor.element_count = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      std::uint64_t dim = wide ? cursor.read<std::uint64_t>("a tensor dimension")
                               : cursor.read<std::uint32_t>("a tensor dimension");
      if (dim == 0 || multiply_overflows(tensor.element_count, dim, tensor.element_count)) {
        fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: tensor '", tensor.name,
             "' has an invalid dimension ", dim);
      }
      tensor.dims.push_back(dim);
    }
    std::uint32_t type_id = cursor.read<std::uint32_t>("a tensor type");
    auto traits = ggml_type_traits(type_id);
    if (!traits) {
      fail(ErrorCode::UnsupportedModel, "'", path, "': tensor '", tensor.name,
           "' has unknown tensor type id ", type_id,
           "; the file may come from a newer llama.cpp than this engine knows");
    }
    tensor.type = static_cast<GgmlType>(type_id);
    if (tensor.dims[0] % traits->block_elements != 0) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: tensor '", tensor.name,
           "' has rows of ", tensor.dims[0], " values, not a multiple of the ", traits->name,
           " block of ", traits->block_elements);
    }
    std::uint64_t blocks = tensor.element_count / traits->block_elements;
    if (multiply_overflows(blocks, traits->block_bytes, tensor.byte_size)) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: tensor '", tensor.name, "' is too large");
    }
    relative_offsets.push_back(cursor.read<std::uint64_t>("a tensor offset"));
    if (tensor_index_.count(tensor.name) != 0) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: tensor '", tensor.name, "' appears twice");
    }
    tensor_index_.emplace(tensor.name, tensors_.size());
    tensors_.push_back(std::move(tensor));
  }

  const std::uint64_t data_start = (cursor.offset() + alignment_ - 1) / alignment_ * alignment_;
  const std::uint64_t file_size = file_->size();
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    GgufTensor& tensor = tensors_[i];
    std::uint64_t relative = relative_offsets[i];
    if (relative % alignment_ != 0) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: tensor '", tensor.name,
           "' starts at offset ", relative, ", not a multiple of the alignment ", alignment_);
    }
    if (relative > file_size || data_start > file_size - relative ||
        tensor.byte_size > file_size - data_start - relative) {
      fail(ErrorCode::InvalidFile, "'", path, "' is truncated or corrupt: tensor '", tensor.name,
           "' (", tensor.byte_size, " bytes at data offset ", relative,
           ") runs past the end of the file (", file_size, " bytes)");
    }
    tensor.file_offset = data_start + relative;
    tensor.data = file_->data() + tensor.file_offset;
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto found = metadata_.find(key);
  return found == metadata_.end() ? nullptr : &found->second;
}

const GgufValue& GgufFile::require(const std::string& key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) {
    fail(ErrorCode::InvalidFile, "'", path(), "' lacks the metadata key '", key, "'");
  }
  return *value;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto found = tensor_index_.find(name);
  return found == tensor_index_.end() ? nullptr : &tensors_[found->second];
}

}  // namespace snapkv
