#pragma once
// A GGUF file, memory-mapped: its metadata and tensor directory, every size and
// offset checked against the file before it is trusted.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "gguf/ggml_type.h"
#include "gguf/gguf_value.h"

namespace snapkv {

struct GgufTensor {
  std::string name;
  GgmlType type;
  std::vector<std::uint64_t> dims;  // dims[0] is the contiguous (row) dimension
  std::uint64_t element_count = 0;
  std::uint64_t byte_size = 0;
  std::uint64_t file_offset = 0;  // absolute, from the start of the file
  const std::uint8_t* data = nullptr;
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  std::uint32_t version() const { return version_; }
  std::uint64_t alignment() const { return alignment_; }
  std::size_t file_size() const { return file_->size(); }
  const std::uint8_t* bytes() const { return file_->data(); }

  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;
  // The value of a key that must be present, else an error naming file and key.
  const GgufValue& require(const std::string& key) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;

 private:
  std::unique_ptr<MappedFile> file_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, std::size_t> tensor_index_;
};

}  // namespace snapkv
