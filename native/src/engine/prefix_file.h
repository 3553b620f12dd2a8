#pragma once
// Saving a full prompt cache to disk and reading it back, so reopening a
// workspace does not prefill again. The file records the format version, the
// model's fingerprint, a hash of the tokens and a checksum of everything; a
// file of another model or version, or one whose checksum fails, is refused
// with a message saying so.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/prefix_cache.h"

namespace snapkv {

class Model;

// 2: a checksum over header, tokens, logits and KV rows; the file is written 0600.
constexpr std::uint32_t kPrefixFileVersion = 2;

// Writes atomically: a temporary file renamed over `path` once complete.
void save_prefix(const Model& model, const PrefixCache& prefix, const std::string& path);

// Reads a saved cache (memory-mapped) into a new prefix cache with room for
// `extra_capacity` more tokens.
PrefixCache load_prefix(const Model& model, const std::string& path, int extra_capacity);

// For tools that make test files (native/fuzz/prefix_load_fuzz.cpp): writes the token hash and the
// checksum into a file image in place, as save_prefix would have, so that a changed image gets past the
// integrity checks to the checks behind them. An image too short for a header is left as it is; tokens
// past its end are hashed as far as they go.
void reseal_prefix_image(std::uint8_t* image, std::size_t size);

}  // namespace snapkv
