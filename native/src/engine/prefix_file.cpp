#include "engine/prefix_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "common/checksum64.h"
#include "common/engine_error.h"
#include "common/fnv_hash.h"
#include "common/mapped_file.h"
#include "model/model.h"

namespace snapkv {

namespace {

constexpr char kMagic[8] = {'S', 'N', 'A', 'P', 'K', 'V', 'P', 'C'};
constexpr std::size_t kDataAlignment = 4096;

// Fixed-size header, little-endian as this engine's hosts are.
struct PrefixFileHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t element_bytes;
  std::uint64_t model_fingerprint;
  std::uint32_t layers;
  std::uint32_t kv_heads;
  std::uint32_t head_dim;
  std::uint32_t vocab;
  std::uint64_t token_count;
  std::uint64_t token_hash;
  std::uint32_t has_logits;
  std::uint32_t reserved;
  // Over this header (with the field itself zero), the tokens, the logits and the KV rows, in file order.
  std::uint64_t checksum;
};

std::uint64_t hash_tokens(const int* tokens, std::size_t count) {
  FnvHash hash;
  hash.add(tokens, count * sizeof(int));
  return hash.value();
}

std::size_t data_offset(const PrefixFileHeader& header) {
  std::size_t end = sizeof(PrefixFileHeader) + header.token_count * sizeof(std::int32_t);
  if (header.has_logits) end += static_cast<std::size_t>(header.vocab) * sizeof(float);
  return (end + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
}

std::size_t data_bytes(const PrefixFileHeader& header) {
  return static_cast<std::size_t>(header.layers) * 2 * header.kv_heads * header.token_count * header.head_dim *
         sizeof(float);
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// The cache holds the prompt's tokens, so every line of the repository: readable by its owner only.
std::FILE* open_private(const std::string& path) {
#if defined(_WIN32)
  return std::fopen(path.c_str(), "wb");
#else
  ::unlink(path.c_str());  // a leftover file (perhaps another mode, or a link) is never written through; a folder stays and fails below
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return nullptr;
  ::fchmod(fd, 0600);  // the umask may have taken bits away, never added them; this states the mode outright
  std::FILE* file = ::fdopen(fd, "wb");
  if (!file) ::close(fd);
  return file;
#endif
}

std::uint64_t header_checksum_part(PrefixFileHeader header, Checksum64& sum) {
  const std::uint64_t stored = header.checksum;
  header.checksum = 0;
  sum.add(&header, sizeof header);
  return stored;
}

}  // namespace

void save_prefix(const Model& model, const PrefixCache& cache, const std::string& path) {
  const ModelConfig& c = model.config();
  const Sequence& prefix = *cache.sequence;
  const int length = prefix.kv->length();
  PrefixFileHeader header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kPrefixFileVersion;
  header.element_bytes = sizeof(float);
  header.model_fingerprint = model.fingerprint();
  header.layers = static_cast<std::uint32_t>(c.layers);
  header.kv_heads = static_cast<std::uint32_t>(c.kv_heads);
  header.head_dim = static_cast<std::uint32_t>(c.head_dim);
  header.vocab = static_cast<std::uint32_t>(c.vocab);
  header.token_count = static_cast<std::uint64_t>(length);
  header.token_hash = hash_tokens(prefix.tokens.data(), prefix.tokens.size());
  header.has_logits = prefix.last_logits.size() == static_cast<std::size_t>(c.vocab) ? 1 : 0;

  const std::string temporary = path + ".partial";
  Checksum64 sum;
  header_checksum_part(header, sum);
  sum.add(prefix.tokens.data(), prefix.tokens.size() * sizeof(int));
  if (header.has_logits) sum.add(prefix.last_logits.data(), prefix.last_logits.size() * sizeof(float));
  std::unique_ptr<std::FILE, FileCloser> file(open_private(temporary));
  if (!file) fail(ErrorCode::Io, "cannot write '", temporary, "': ", std::strerror(errno));
  bool ok = std::fwrite(&header, sizeof header, 1, file.get()) == 1;
  ok = ok && std::fwrite(prefix.tokens.data(), sizeof(int), prefix.tokens.size(), file.get()) == prefix.tokens.size();
  if (header.has_logits) {
    ok = ok && std::fwrite(prefix.last_logits.data(), sizeof(float), prefix.last_logits.size(), file.get()) ==
                   prefix.last_logits.size();
  }
  const long padding = static_cast<long>(data_offset(header)) - std::ftell(file.get());
  ok = ok && padding >= 0 && std::fseek(file.get(), padding, SEEK_CUR) == 0;
  if (ok) {
    const std::vector<std::uint8_t> zeros(static_cast<std::size_t>(padding), 0);
    sum.add(zeros.data(), zeros.size());  // the gap reads back as zeros; covered, so no byte of the file goes unchecked
  }
  // Rows go to disk as f32 whatever the cache stores, so one file serves
  // every KV type and both backends. A 16-bit row widens and narrows back to
  // the same bits; a q8_0 row too, unless its block's scale is an f16
  // subnormal (every value under ~0.008), where it may round once more.
  const std::size_t row = static_cast<std::size_t>(length) * c.head_dim;
  std::vector<float> data(row);
  for (int l = 0; l < c.layers && ok; ++l) {
    for (int kind = 0; kind < 2 && ok; ++kind) {
      for (int h = 0; h < c.kv_heads && ok; ++h) {
        model.backend().read_kv(*prefix.kv, l, kind, h, length, data.data());
        sum.add(data.data(), row * sizeof(float));
        ok = std::fwrite(data.data(), sizeof(float), row, file.get()) == row;
      }
    }
  }
  // The checksum covers the rows as written, so it goes into the header last.
  header.checksum = sum.value();
  ok = ok && std::fseek(file.get(), 0, SEEK_SET) == 0 && std::fwrite(&header, sizeof header, 1, file.get()) == 1;
  ok = ok && std::fflush(file.get()) == 0;
  file.reset();
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    fail(ErrorCode::Io, "cannot write the cache to '", path, "': ", std::strerror(error));
  }
}

PrefixCache load_prefix(const Model& model, const std::string& path, int extra_capacity) {
  const ModelConfig& c = model.config();
  MappedFile file(path);
  PrefixFileHeader header{};
  if (file.size() < sizeof header || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
    fail(ErrorCode::InvalidFile, "'", path, "' is not a snapkv prompt cache file");
  }
  std::memcpy(&header, file.data(), sizeof header);
  if (header.version != kPrefixFileVersion) {
    fail(ErrorCode::InvalidFile, "'", path, "' was written in cache format version ", header.version,
         ", and this engine reads version ", kPrefixFileVersion, "; delete it and prefill again");
  }
  if (header.model_fingerprint != model.fingerprint() || header.layers != static_cast<std::uint32_t>(c.layers) ||
      header.kv_heads != static_cast<std::uint32_t>(c.kv_heads) ||
      header.head_dim != static_cast<std::uint32_t>(c.head_dim) || header.vocab != static_cast<std::uint32_t>(c.vocab)) {
    fail(ErrorCode::InvalidFile, "'", path, "' holds a cache of another model, not of '", model.file().path(),
         "'; prefill the prompt again with this model");
  }
  if (header.element_bytes != sizeof(float) || header.token_count > (1u << 30) ||
      data_offset(header) + data_bytes(header) != file.size()) {
    fail(ErrorCode::InvalidFile, "'", path, "' is truncated or corrupt");
  }
  const int length = static_cast<int>(header.token_count);
  const auto* tokens = reinterpret_cast<const int*>(file.data() + sizeof header);
  {
    Checksum64 sum;
    const std::uint64_t stored = header_checksum_part(header, sum);
    sum.add(tokens, header.token_count * sizeof(std::int32_t));
    std::size_t covered = sizeof header + header.token_count * sizeof(std::int32_t);
    if (header.has_logits) {
      sum.add(tokens + length, static_cast<std::size_t>(header.vocab) * sizeof(float));
      covered += static_cast<std::size_t>(header.vocab) * sizeof(float);
    }
    sum.add(file.data() + covered, data_offset(header) - covered);
    sum.add(file.data() + data_offset(header), data_bytes(header));
    if (sum.value() != stored) {
      fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: its checksum does not match its contents");
    }
  }
  if (hash_tokens(tokens, header.token_count) != header.token_hash) {
    fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: its tokens do not match their hash");
  }
  for (int i = 0; i < length; ++i) {
    if (tokens[i] < 0 || tokens[i] >= c.vocab) fail(ErrorCode::InvalidFile, "'", path, "' is corrupt: bad token id");
  }
  if (extra_capacity < 0) fail(ErrorCode::InvalidArgument, "extra capacity must not be negative");

  PrefixCache prefix = make_prefix_cache(model, std::max(1, length + extra_capacity));
  Sequence* sequence = prefix.sequence.get();
  sequence->tokens.assign(tokens, tokens + length);
  if (header.has_logits) {
    const auto* logits = reinterpret_cast<const float*>(tokens + length);
    sequence->last_logits.assign(logits, logits + c.vocab);
  }
  const float* data = reinterpret_cast<const float*>(file.data() + data_offset(header));
  const std::size_t row = static_cast<std::size_t>(length) * c.head_dim;
  for (int l = 0; l < c.layers; ++l) {
    for (int kind = 0; kind < 2; ++kind) {
      for (int h = 0; h < c.kv_heads; ++h, data += row) model.backend().write_kv(*sequence->kv, l, kind, h, length, data);
    }
  }
  sequence->kv->reset(length, length);
  return prefix;
}

void reseal_prefix_image(std::uint8_t* image, std::size_t size) {
  PrefixFileHeader header{};
  if (size < sizeof header) return;
  std::memcpy(&header, image, sizeof header);
  const std::size_t token_room = (size - sizeof header) / sizeof(std::int32_t);
  const std::size_t tokens = header.token_count < token_room ? static_cast<std::size_t>(header.token_count) : token_room;
  FnvHash hash;
  hash.add(image + sizeof header, tokens * sizeof(std::int32_t));
  header.token_hash = hash.value();
  // The reader's checksum runs over the whole file in order with this field zero (Checksum64 does not
  // depend on how its input is split), whenever the file's size is the one its header implies.
  header.checksum = 0;
  std::memcpy(image, &header, sizeof header);
  Checksum64 sum;
  sum.add(image, size);
  header.checksum = sum.value();
  std::memcpy(image, &header, sizeof header);
}

}  // namespace snapkv
