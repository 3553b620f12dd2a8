#pragma once
// Keeps the queries of the last `window` prompt positions of every layer as a
// forward pass computes them: what SnapKV scores the prompt with.
#include <vector>

#include "engine/forward.h"

namespace snapkv {

class WindowQueries : public QueryObserver {
 public:
  // Positions [first_position, first_position + window) are kept.
  WindowQueries(int layers, int heads, int head_dim, int first_position, int window);

  void on_queries(int layer, const float* q, int tokens, const int* positions) override;

  // window rows of heads x head_dim for one layer, in position order.
  const float* layer(int layer) const { return queries_[layer].data(); }
  int window() const { return window_; }

 private:
  int row_, first_position_, window_;
  std::vector<std::vector<float>> queries_;
};

}  // namespace snapkv
