#include "shape_writer/gguf_output.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace shape_writer {

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "GGUF is little-endian; the writer copies host integers as they are"
#endif

namespace {

constexpr std::uint32_t kGgufVersion = 3;
constexpr std::uint32_t kValueU32 = 4;
constexpr std::uint32_t kValueF32 = 6;
constexpr std::uint32_t kValueString = 8;

class ByteSink {
 public:
  explicit ByteSink(std::vector<std::uint8_t>& out) : out_(out) {}

  template <typename T>
  void put(T value) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&value);
    out_.insert(out_.end(), bytes, bytes + sizeof(T));
  }

  void put_string(const std::string& text) {
    put<std::uint64_t>(text.size());
    out_.insert(out_.end(), text.begin(), text.end());
  }

 private:
  std::vector<std::uint8_t>& out_;
};

std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

MetadataEntry MetadataEntry::of_u32(std::string key, std::uint32_t value) {
  MetadataEntry entry;
  entry.kind = Kind::U32;
  entry.key = std::move(key);
  entry.u32 = value;
  return entry;
}

MetadataEntry MetadataEntry::of_f32(std::string key, float value) {
  MetadataEntry entry;
  entry.kind = Kind::F32;
  entry.key = std::move(key);
  entry.f32 = value;
  return entry;
}

MetadataEntry MetadataEntry::of_string(std::string key, std::string value) {
  MetadataEntry entry;
  entry.kind = Kind::String;
  entry.key = std::move(key);
  entry.text = std::move(value);
  return entry;
}

GgufHeader encode_header(const std::vector<MetadataEntry>& metadata, const std::vector<TensorEntry>& tensors) {
  GgufHeader header;
  ByteSink sink(header.bytes);
  sink.put<std::uint32_t>(0x46554747u);  // "GGUF" read as a little-endian u32
  sink.put<std::uint32_t>(kGgufVersion);
  sink.put<std::uint64_t>(tensors.size());
  sink.put<std::uint64_t>(metadata.size());
  for (const MetadataEntry& entry : metadata) {
    sink.put_string(entry.key);
    switch (entry.kind) {
      case MetadataEntry::Kind::U32:
        sink.put<std::uint32_t>(kValueU32);
        sink.put<std::uint32_t>(entry.u32);
        break;
      case MetadataEntry::Kind::F32:
        sink.put<std::uint32_t>(kValueF32);
        sink.put<float>(entry.f32);
        break;
      case MetadataEntry::Kind::String:
        sink.put<std::uint32_t>(kValueString);
        sink.put_string(entry.text);
        break;
    }
  }
  std::uint64_t offset = 0;
  for (const TensorEntry& tensor : tensors) {
    sink.put_string(tensor.name);
    sink.put<std::uint32_t>(static_cast<std::uint32_t>(tensor.dims.size()));
    for (std::uint64_t dim : tensor.dims) sink.put<std::uint64_t>(dim);
    sink.put<std::uint32_t>(tensor.ggml_type);
    sink.put<std::uint64_t>(offset);
    header.tensor_offsets.push_back(offset);
    offset = align_up(offset + tensor.data_bytes, kAlignment);
  }
  header.data_bytes = offset;
  header.bytes.resize(align_up(header.bytes.size(), kAlignment), 0);
  return header;
}

StagedFile::StagedFile(std::string path)
    : path_(std::move(path)), staging_path_(path_ + ".tmp"), buffer_(std::size_t{8} << 20) {
  file_ = std::fopen(staging_path_.c_str(), "wb");
  if (file_ == nullptr) fail_io("cannot create");
  std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
}

StagedFile::~StagedFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(staging_path_.c_str());
  }
}

void StagedFile::write(const void* data, std::size_t bytes) {
  if (std::fwrite(data, 1, bytes, file_) != bytes) fail_io("cannot write to");
  position_ += bytes;
}

void StagedFile::pad_to(std::uint64_t alignment) {
  static const std::uint8_t zeros[64] = {};
  std::uint64_t missing = align_up(position_, alignment) - position_;
  while (missing > 0) {
    const std::size_t piece = static_cast<std::size_t>(std::min<std::uint64_t>(missing, sizeof zeros));
    write(zeros, piece);
    missing -= piece;
  }
}

void StagedFile::commit() {
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) {
    const int error = errno;
    std::remove(staging_path_.c_str());
    throw std::runtime_error("cannot finish writing '" + staging_path_ + "': " + std::strerror(error));
  }
  if (std::rename(staging_path_.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    std::remove(staging_path_.c_str());
    throw std::runtime_error("cannot rename '" + staging_path_ + "' to '" + path_ + "': " + std::strerror(error));
  }
}

void StagedFile::fail_io(const std::string& what) const {
  // ENOSPC is the likely cause for a model file: say so with the size reached.
  const int error = errno;
  throw std::runtime_error(what + " '" + staging_path_ + "' (after " + std::to_string(position_) + " bytes): " +
                           std::strerror(error));
}

}  // namespace shape_writer
