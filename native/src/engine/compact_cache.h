#pragma once
// The result of compressing a prompt with SnapKV: a small cache private to
// one question, that generation continues from, and what it kept. It is
// never extended by hand, truncated, asked another question or saved.
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "snapkv/selection.h"

namespace snapkv {

struct CompactCache {
  std::shared_ptr<Sequence> sequence;        // slots: the kept entries; next position: the prompt length
  std::vector<std::vector<KeptHead>> kept;   // [layer][cache head]
  int prompt_length = 0;
};

// Options shared by prefix queries and one-shot compression.
struct CompressOptions {
  SnapKvParams snapkv;
  int reserve_tokens = 1024;  // room in the compact cache for generated tokens
  int chunk_tokens = 256;
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(int done, int total)> on_progress;
};

// The entries every cache head keeps: the whole prompt when it fits the budget.
inline int kept_per_head(int prompt_length, const SnapKvParams& params) {
  return prompt_length < params.budget ? prompt_length : params.budget;
}

}  // namespace snapkv
