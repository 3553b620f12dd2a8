#pragma once
// The block-quantized weight formats of ggml (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and
// the K-quants Q2_K..Q6_K) decoded to f32, a run of whole blocks at a time.
//
// Every decoded value is the f32 nearest to the block's exact value, whichever
// way the compiler orders the arithmetic: the products of an f16 scale with the
// small integers of a block (sub-block scale, quant) have at most 23
// significant bits and are exact in f32; the one addition (of the f16 min, or
// of the K-quant's scaled min) is then the only rounding. So fused or separate
// multiply-adds give the same bits, the matrix-vector and matrix-matrix paths
// see the same weights, and an independent decoder can match them exactly.
#include <cstdint>

#include "gguf/ggml_type.h"

namespace snapkv {

struct BlockFormat {
  int values;  // per block
  int bytes;   // per block
  // Decodes `count` consecutive blocks starting at `blocks` into count * values floats.
  void (*decode)(const std::uint8_t* blocks, int count, float* out);
};

// The format of a block-quantized type, or nullptr for F32, F16, BF16 and the
// types the engine does not decode.
const BlockFormat* block_format(GgmlType type);

}  // namespace snapkv
