#pragma once
// Block-quantized weights unpacked to small integers: every group of G values
// (G = 16 or 32, the type's sub-block) becomes w = scale * u + offset with u in
// 0..255. The products and sums are those of cpu/block_decoders.h, so
// scale * u + offset rounds to the value that decoder gives.
#include <cstdint>

#include "gguf/ggml_type.h"

namespace snapkv {

struct WeightUnpacker {
  int group_size;   // values per (scale, offset) group
  int max_quant;    // the largest u
  // Unpacks `count` blocks: count * (the type's block size) quants, and a
  // scale and an offset per group.
  void (*unpack)(const std::uint8_t* blocks, int count, std::uint8_t* quants, float* scales, float* offsets);
};

// A kernel set that takes signed weights (QuantKernels::signed_weights)
// stores u - bias as s8: bias 128 for the types whose u passes 127 (Q8_0),
// else 0.
inline std::uint8_t signed_weight_bias(const WeightUnpacker& unpacker, bool signed_weights) {
  return signed_weights && unpacker.max_quant > 127 ? 128 : 0;
}

// The offset that keeps w once the bias leaves u:
// s * u + o = s * (u - bias) + (o + bias * s). One owner for the panels, the
// unpacked decode rows and the stored-row kernels (which pass __m256 lanes,
// eight rows at once, through the same operations). Q8_0, the one type with
// a bias, has o = -128 s: the sum is exactly 0, whether or not the compiler
// fuses it into one multiply-add in a given file.
template <typename F>
F biased_offset(F offset, F scale, F bias) {
  return offset + bias * scale;
}

// The unpacker of a block-quantized type, or null for F32, F16, BF16.
const WeightUnpacker* weight_unpacker(GgmlType type);

// One row of `cols` values of a block type as a kernel set takes it: unpacked,
// and for a set with signed weights its bias moved from u into the offset.
// One owner for the panels, the unpacked decode rows and the kernel checks.
void unpack_row_for_kernels(GgmlType type, bool signed_weights, const std::uint8_t* row, int cols, std::uint8_t* quants,
                            float* scales, float* offsets);

// Blocks in a row of `cols` values of a block type (gguf/ggml_type.h owns the
// block sizes).
int blocks_in_row(GgmlType type, int cols);

}  // namespace snapkv
