#include "snapkv/window_queries.h"

#include <cstring>

namespace snapkv {

WindowQueries::WindowQueries(int layers, int heads, int head_dim, int first_position, int window)
    : row_(heads * head_dim), first_position_(first_position), window_(window) {
  queries_.assign(layers, std::vector<float>(static_cast<std::size_t>(window) * row_));
}

void WindowQueries::on_queries(int layer, const float* q, int tokens, const int* positions) {
  for (int t = 0; t < tokens; ++t) {
    const int index = positions[t] - first_position_;
    if (index < 0 || index >= window_) continue;
    std::memcpy(queries_[layer].data() + static_cast<std::size_t>(index) * row_, q + static_cast<std::size_t>(t) * row_,
                sizeof(float) * row_);
  }
}

}  // namespace snapkv
