#pragma once
// Saving a full prompt cache to disk and reading it back, so reopening a
// workspace does not prefill again. The file records the format version, the
// model's fingerprint and a hash of the tokens; a file of another model or
// version is refused with a message saying so.
#include <memory>
#include <string>

#include "engine/sequence.h"

namespace snapkv {

class Model;

constexpr std::uint32_t kPrefixFileVersion = 1;

// Writes atomically: a temporary file renamed over `path` once complete.
void save_prefix(const Model& model, const Sequence& prefix, const std::string& path);

// Reads a saved cache (memory-mapped) into a new sequence with room for
// `extra_capacity` more tokens.
std::shared_ptr<Sequence> load_prefix(const Model& model, const std::string& path, int extra_capacity);

}  // namespace snapkv
