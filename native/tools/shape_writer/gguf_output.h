#pragma once
// GGUF version 3 written front to back: the header (metadata and tensor
// directory) is built in memory, the tensor data streamed after it in pieces,
// so a 15 GB file never needs 15 GB of memory. The file appears under its
// name only when complete.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace shape_writer {

constexpr std::uint64_t kAlignment = 32;  // GGUF's default; written as general.alignment too

struct MetadataEntry {
  enum class Kind { U32, F32, String };
  Kind kind = Kind::U32;
  std::string key;
  std::uint32_t u32 = 0;
  float f32 = 0;
  std::string text;

  static MetadataEntry of_u32(std::string key, std::uint32_t value);
  static MetadataEntry of_f32(std::string key, float value);
  static MetadataEntry of_string(std::string key, std::string value);
};

struct TensorEntry {
  std::string name;
  std::vector<std::uint64_t> dims;  // dims[0] contiguous
  std::uint32_t ggml_type = 0;
  std::uint64_t data_bytes = 0;
};

struct GgufHeader {
  std::vector<std::uint8_t> bytes;            // ends padded to kAlignment
  std::vector<std::uint64_t> tensor_offsets;  // relative to the end of `bytes`
  std::uint64_t data_bytes = 0;               // every tensor with its padding
};

GgufHeader encode_header(const std::vector<MetadataEntry>& metadata, const std::vector<TensorEntry>& tensors);

// A file written at `path + ".tmp"`, renamed to `path` by commit(); removed
// when destroyed uncommitted (an error or an interrupt mid-way).
class StagedFile {
 public:
  explicit StagedFile(std::string path);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  void write(const void* data, std::size_t bytes);
  void pad_to(std::uint64_t alignment);
  std::uint64_t position() const { return position_; }
  void commit();

 private:
  [[noreturn]] void fail_io(const std::string& what) const;

  std::string path_;
  std::string staging_path_;
  std::FILE* file_ = nullptr;
  std::uint64_t position_ = 0;
  std::vector<char> buffer_;
};

}  // namespace shape_writer
