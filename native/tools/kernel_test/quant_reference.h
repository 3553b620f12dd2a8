#pragma once
// The kernel checks' own CPU reference for the block-quantized weight types
// the GPU decodes in place (Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K): one weight
// at a time from its position in the block, written from the ggml block
// layouts and sharing no code with kernels/quant_blocks.cuh or the CPU
// engine's decoders. And random blocks to feed both.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf/ggml_type.h"
#include "harness.h"

namespace snapkv::kernel_test {

// The block-quantized types the GPU reads in place, in id order.
const std::vector<GgmlType>& block_quantized_types();

// Weight `i` (< the type's block elements) of the block at `block`, as f32:
// every product and sum of the format's formula rounded once to f32, in the
// formula's order (d * scale first, then * q, then - dmin * min).
float reference_weight(GgmlType type, const std::uint8_t* block, int i);

// Fills one block with random bytes, then sets its f16 super-scales to valid,
// finite values of about `scale` / (largest quant x sub-scale) (so weights
// are about `scale` at most) and redraws sub-block scales that would zero a
// whole sub-block. Individual quants stay uniformly random (a zero weight now
// and then is a value of the format).
void random_block(Random& random, GgmlType type, float scale, std::uint8_t* block);

}  // namespace snapkv::kernel_test
