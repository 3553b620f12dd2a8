#pragma once
// Random blocks of the block-quantized weight types the GPU decodes in place
// (Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K), for the kernel checks. The checks'
// CPU side decodes them with the engine's own decoders (convert_row_to_f32),
// which test/weight-decoders.test.ts holds bit-exact against an independent
// reference decoder.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gguf/ggml_type.h"
#include "harness.h"

namespace snapkv::kernel_test {

// The block-quantized types the GPU reads in place, in id order.
const std::vector<GgmlType>& block_quantized_types();

// Fills one block with random bytes, then sets its f16 super-scales to valid,
// finite values of about `scale` / (largest quant x sub-scale) (so weights
// are about `scale` at most) and redraws sub-block scales that would zero a
// whole sub-block. Individual quants stay uniformly random (a zero weight now
// and then is a value of the format).
void random_block(Random& random, GgmlType type, float scale, std::uint8_t* block);

}  // namespace snapkv::kernel_test
