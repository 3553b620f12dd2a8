// snapkv-fuzz-prefix: a libFuzzer target for the saved prompt-cache reader
// (engine/prefix_file.cpp). Each input is a cache file for the fixture model
// below; it is loaded as it is, and once more resealed (token hash and checksum
// written as save_prefix would), so that mutations get past the integrity
// checks to the header, size and token checks and the KV copy behind them. The
// only acceptable outcomes are a loaded cache or an EngineError; any other
// exception, a crash or a sanitizer report is a finding. A cache that loads
// must hold tokens the model knows, and must take one more token.
//
//   snapkv-fuzz-prefix -runs=N -seed=S DIR...     (native/tools/run_sanitizers.sh)
//   snapkv-fuzz-prefix FILE...                     replays files (regressions)
//   SNAPKV_FUZZ_PREFIX_VERBOSE=1 snapkv-fuzz-prefix FILE...
//                                                  says what became of each load
//   SNAPKV_FUZZ_WRITE_PREFIX_CORPUS=DIR snapkv-fuzz-prefix
//                                                  writes the committed corpus
//                                                  (native/fuzz/prefix-corpus) and exits
//
// The model is native/fuzz/corpus/valid-llama-f16-h16.gguf (relative to the
// repository root, where run_sanitizers.sh runs), or SNAPKV_FUZZ_PREFIX_MODEL.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/engine_error.h"
#include "engine/forward.h"
#include "engine/prefix_cache.h"
#include "engine/prefix_file.h"
#include "engine/sequence.h"
#include "kv/kv_cache.h"
#include "model/model.h"

namespace {

// The model's file is 64 tokens of context: its caches are a few KiB.
constexpr std::size_t kMaxInput = 64 * 1024;
constexpr int kExtraCapacity = 1;

std::shared_ptr<snapkv::Model>& fixture_model() {
  static std::shared_ptr<snapkv::Model> model;
  return model;
}

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/snapkv-fuzz-prefix-" + std::to_string(getpid()) + ".snapkvpc";
  }();
  return path;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, out) != size) std::abort();
  if (std::fclose(out) != 0) std::abort();
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (!in) std::abort();
  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[4096];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, in)) > 0;) bytes.insert(bytes.end(), buffer, buffer + got);
  std::fclose(in);
  return bytes;
}

bool verbose() {
  static const bool on = std::getenv("SNAPKV_FUZZ_PREFIX_VERBOSE") != nullptr;
  return on;
}

// Loads the scratch file; a cache that loads is checked and taken one token further.
void load_and_use(const snapkv::Model& model, const char* what) {
  try {
    snapkv::PrefixCache prefix = snapkv::load_prefix(model, scratch_path(), kExtraCapacity);
    const snapkv::Sequence& sequence = *prefix.sequence;
    const int vocab = model.config().vocab;
    for (int token : sequence.tokens) {
      if (token < 0 || token >= vocab) {
        std::fprintf(stderr, "snapkv-fuzz-prefix: a loaded cache holds token %d, outside the vocabulary\n", token);
        std::abort();
      }
    }
    const std::size_t loaded = sequence.tokens.size();
    const int next = 0;
    snapkv::extend_prefix(model, prefix, &next, 1, snapkv::ForwardOptions{});
    if (verbose()) std::fprintf(stderr, "%s: loaded %zu tokens, and took one more\n", what, loaded);
  } catch (const snapkv::EngineError& error) {
    // A refusal with a message: what a broken cache file should get.
    if (verbose()) std::fprintf(stderr, "%s: refused: %s\n", what, error.what());
  }
}

// The committed corpus: caches the engine writes for the fixture model, and broken copies of one.
void write_corpus(const snapkv::Model& model, const std::string& dir) {
  const int vocab = model.config().vocab;
  std::vector<std::uint8_t> full;
  for (int length : {1, 5, 24}) {
    snapkv::PrefixCache prefix = snapkv::make_prefix_cache(model, length);
    std::vector<int> tokens(static_cast<std::size_t>(length));
    for (int i = 0; i < length; ++i) tokens[static_cast<std::size_t>(i)] = (i * 5 + 3) % vocab;
    snapkv::extend_prefix(model, prefix, tokens.data(), length, snapkv::ForwardOptions{});
    const std::string path = dir + "/valid-" + std::to_string(length) + "-tokens.snapkvpc";
    snapkv::save_prefix(model, prefix, path);
    full = read_file(path);
  }
  const auto broken = [&](const std::string& name, std::vector<std::uint8_t> bytes) {
    write_file(dir + "/broken-" + name + ".snapkvpc", bytes.data(), bytes.size());
  };
  broken("truncated-in-header", {full.begin(), full.begin() + 40});
  broken("truncated-in-kv", {full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() - 100)});
  std::vector<std::uint8_t> flipped = full;
  flipped[flipped.size() - 37] ^= 0x10;
  broken("kv-byte-flipped", flipped);
  std::vector<std::uint8_t> tokens_flipped = full;
  tokens_flipped[72 + 4 * 3] ^= 0x40;  // the fourth token, past the 72-byte header
  broken("token-flipped", tokens_flipped);
  std::vector<std::uint8_t> version = full;
  version[8] = 1;
  broken("version-1", version);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* model_path = std::getenv("SNAPKV_FUZZ_PREFIX_MODEL");
  snapkv::ModelLoadOptions options;
  options.threads = 1;
  fixture_model() = snapkv::Model::load(model_path ? model_path : "native/fuzz/corpus/valid-llama-f16-h16.gguf", options);
  if (const char* dir = std::getenv("SNAPKV_FUZZ_WRITE_PREFIX_CORPUS")) {
    write_corpus(*fixture_model(), dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return -1;  // not added to the corpus
  const snapkv::Model& model = *fixture_model();
  write_file(scratch_path(), data, size);
  load_and_use(model, "as it is");
  std::vector<std::uint8_t> resealed(data, data + size);
  snapkv::reseal_prefix_image(resealed.data(), resealed.size());
  write_file(scratch_path(), resealed.data(), resealed.size());
  load_and_use(model, "resealed");
  return 0;
}
