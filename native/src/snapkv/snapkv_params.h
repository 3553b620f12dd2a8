#pragma once
// The parameters of SnapKV selection (DESIGN.md section 3).
#include <string>

namespace snapkv {

struct ModelConfig;

enum class Pooling { Max, Avg };
// How query heads that share a KV head are combined: their scores averaged
// (one selection per KV head), or one selection per query head with the KV
// head repeated, as the original SnapKV code did (group times the memory).
enum class GqaMode { Mean, Repeat };

struct SnapKvParams {
  int window = 32;    // the last prompt tokens whose attention selects
  int budget = 2048;  // prompt entries kept per cache head, window included
  int kernel = 7;     // pooling width, odd
  Pooling pooling = Pooling::Max;
  GqaMode gqa = GqaMode::Mean;
};

// Throws InvalidArgument, saying which parameter and why.
void validate_snapkv_params(const SnapKvParams& params, const ModelConfig& config);

}  // namespace snapkv
