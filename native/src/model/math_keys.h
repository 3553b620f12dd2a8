#pragma once
// The one list of `<arch>.*` metadata keys this engine understands. A key
// outside it may change the math (sliding windows, logit soft-capping,
// experts, parallel residuals, scaled embeddings ...): the file is refused,
// naming the key, rather than run with that key silently ignored.
#include <string>

namespace snapkv {

class GgufFile;

// Throws UnsupportedModel naming the first `<arch>.` key that is neither
// implemented nor known to leave the computation unchanged, or that has a
// value the engine does not implement (expert_count > 0, attention.causal false).
void refuse_unimplemented_keys(const GgufFile& file, const std::string& arch);

}  // namespace snapkv
