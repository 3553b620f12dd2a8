#pragma once
// Round-to-nearest encoders for the 4-, 5- and 6-bit ggml block formats the
// benchmark files use (Q4_0, Q5_0, Q4_K, Q5_K, Q6_K): valid blocks in the real
// layouts, every field in use. Not ggml's error-minimising quantizers: speed
// does not depend on how well the weights were rounded.
#include <cstdint>

namespace shape_writer {

void encode_q4_0_block(const float* values, std::uint8_t* out);  // 32 values, 18 bytes
void encode_q5_0_block(const float* values, std::uint8_t* out);  // 32 values, 22 bytes
void encode_q4_k_block(const float* values, std::uint8_t* out);  // 256 values, 144 bytes
void encode_q5_k_block(const float* values, std::uint8_t* out);  // 256 values, 176 bytes
void encode_q6_k_block(const float* values, std::uint8_t* out);  // 256 values, 210 bytes

}  // namespace shape_writer
