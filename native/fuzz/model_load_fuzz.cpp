// snapkv-fuzz-model: a libFuzzer target for the GGUF reader and the model
// loader. Each input is written to a file and loaded as a model; when it loads,
// two tokens are run through it, so that a shape the loader accepted but the
// forward pass cannot honour shows up as an out-of-bounds access under ASan.
// Each input is also inspected (what model listings show): a file that loads
// must be one that inspection says runs. The only acceptable outcomes are a
// loaded model or an EngineError; any other exception, a crash, a sanitizer
// report or a disagreement with inspection is a finding.
//
//   snapkv-fuzz-model -runs=N -seed=S native/fuzz/corpus   (native/tools/run_sanitizers.sh)
//   snapkv-fuzz-model FILE...                               replays files (regressions)
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/engine_error.h"
#include "engine/forward.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "model/model_inspection.h"

namespace {

// Big enough for every corpus file and their mutations; bigger inputs only slow
// the fuzzer down (every tensor is sampled for the fingerprint).
constexpr std::size_t kMaxInput = 64 * 1024;

// The loader reads a path (it maps the file), so inputs go through one
// file per process, in memory-backed /dev/shm when there is one.
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/snapkv-fuzz-" + std::to_string(getpid()) + ".gguf";
  }();
  return path;
}

void write_input(const std::uint8_t* data, std::size_t size) {
  std::FILE* out = std::fopen(scratch_path().c_str(), "wb");
  if (!out) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, out) != size) std::abort();
  if (std::fclose(out) != 0) std::abort();
}

void run_two_tokens(const snapkv::Model& model) {
  const snapkv::ModelConfig& config = model.config();
  snapkv::KvCache cache(config.layers, config.kv_heads, config.head_dim, 2);
  const int tokens[2] = {0, config.vocab - 1};
  snapkv::ForwardOptions options;
  options.logits = snapkv::LogitsMode::All;
  snapkv::run_forward(model, cache, tokens, 2, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return -1;  // not added to the corpus
  write_input(data, size);
  bool inspected_runs = false;
  try {
    inspected_runs = snapkv::inspect_model(scratch_path(), {}).runs;
  } catch (const snapkv::EngineError&) {
    // Only a file that cannot be mapped (an empty one) gets here.
  }
  snapkv::ModelLoadOptions options;
  options.threads = 1;
  try {
    std::shared_ptr<snapkv::Model> model = snapkv::Model::load(scratch_path(), options);
    if (!inspected_runs) {
      std::fprintf(stderr, "snapkv-fuzz-model: the file loads, but inspection says it does not run\n");
      std::abort();
    }
    run_two_tokens(*model);
  } catch (const snapkv::EngineError&) {
    // A refusal with a message: what a broken file should get.
  }
  return 0;
}
