#include "shape_writer/block_encoding.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "shape_writer/weight_encoding.h"

namespace shape_writer {

namespace {

float f16_value(std::uint16_t bits) {
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -24)
                                  : std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return (bits & 0x8000) ? -magnitude : magnitude;
}

// Stores x as f16 at out and returns the value the file then holds.
float put_half(std::uint8_t* out, float x) {
  const std::uint16_t bits = f32_to_f16(x);
  out[0] = static_cast<std::uint8_t>(bits & 0xff);
  out[1] = static_cast<std::uint8_t>(bits >> 8);
  return f16_value(bits);
}

float inverse(float step) { return step == 0.0f ? 0.0f : 1.0f / step; }

int quantize(float x, float inverse_step, int lo, int hi) {
  return std::clamp(static_cast<int>(std::lround(x * inverse_step)), lo, hi);
}

// The value of largest magnitude, with its sign.
float signed_max_abs(const float* x, int n) {
  float best = 0.0f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(best)) best = x[i];
  return best;
}

// Symmetric 32-value blocks: q = x / d + 2^(bits-1), d = signed max / -2^(bits-1).
void symmetric_legacy(const float* x, std::uint8_t* out, int bits, int* q) {
  const int half = 1 << (bits - 1);
  const float d = put_half(out, signed_max_abs(x, 32) / static_cast<float>(-half));
  for (int j = 0; j < 32; ++j) q[j] = quantize(x[j], inverse(d), -half, half - 1) + half;
}

// Q4_K / Q5_K: eight sub-blocks of 32 with a 6-bit scale and min each.
void affine_k(const float* x, std::uint8_t* out, int max_q, int* q, int* scales, int* mins) {
  float steps[8], offsets[8], max_step = 0, max_offset = 0;
  for (int s = 0; s < 8; ++s) {
    float lo = 0.0f, hi = x[32 * s];
    for (int i = 0; i < 32; ++i) {
      lo = std::min(lo, x[32 * s + i]);
      hi = std::max(hi, x[32 * s + i]);
    }
    steps[s] = (hi - lo) / static_cast<float>(max_q);
    offsets[s] = -lo;
    max_step = std::max(max_step, steps[s]);
    max_offset = std::max(max_offset, offsets[s]);
  }
  const float d = put_half(out, max_step / 63.0f);
  const float dmin = put_half(out + 2, max_offset / 63.0f);
  for (int s = 0; s < 8; ++s) {
    scales[s] = quantize(steps[s], inverse(d), 0, 63);
    mins[s] = quantize(offsets[s], inverse(dmin), 0, 63);
    const float step = d * static_cast<float>(scales[s]);
    const float offset = dmin * static_cast<float>(mins[s]);
    for (int i = 0; i < 32; ++i) q[32 * s + i] = quantize(x[32 * s + i] + offset, inverse(step), 0, max_q);
  }
  std::uint8_t* packed = out + 4;
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<std::uint8_t>((scales[j] & 63) | ((scales[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<std::uint8_t>((mins[j] & 63) | ((mins[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<std::uint8_t>((scales[j + 4] & 15) | ((mins[j + 4] & 15) << 4));
  }
}

}  // namespace

void encode_q4_0_block(const float* x, std::uint8_t* out) {
  int q[32];
  symmetric_legacy(x, out, 4, q);
  for (int j = 0; j < 16; ++j) out[2 + j] = static_cast<std::uint8_t>(q[j] | (q[j + 16] << 4));
}

void encode_q5_0_block(const float* x, std::uint8_t* out) {
  int q[32];
  symmetric_legacy(x, out, 5, q);
  std::uint32_t high = 0;
  for (int j = 0; j < 32; ++j) high |= static_cast<std::uint32_t>((q[j] >> 4) & 1) << j;
  for (int k = 0; k < 4; ++k) out[2 + k] = static_cast<std::uint8_t>(high >> (8 * k));
  for (int j = 0; j < 16; ++j) out[6 + j] = static_cast<std::uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
}

void encode_q4_k_block(const float* x, std::uint8_t* out) {
  int q[256], scales[8], mins[8];
  affine_k(x, out, 15, q, scales, mins);
  std::memset(out + 16, 0, 128);
  for (int i = 0; i < 256; ++i) out[16 + 32 * (i >> 6) + (i & 31)] |= static_cast<std::uint8_t>(q[i] << ((i & 32) ? 4 : 0));
}

void encode_q5_k_block(const float* x, std::uint8_t* out) {
  int q[256], scales[8], mins[8];
  affine_k(x, out, 31, q, scales, mins);
  std::memset(out + 16, 0, 160);
  for (int i = 0; i < 256; ++i) {
    out[16 + (i & 31)] |= static_cast<std::uint8_t>((q[i] >> 4) << (i >> 5));
    out[48 + 32 * (i >> 6) + (i & 31)] |= static_cast<std::uint8_t>((q[i] & 15) << ((i & 32) ? 4 : 0));
  }
}

// Sixteen sub-blocks of 16 with int8 scales; q in -32..31 stored plus 32 as 4 + 2 bits.
void encode_q6_k_block(const float* x, std::uint8_t* out) {
  float steps[16];
  for (int s = 0; s < 16; ++s) steps[s] = signed_max_abs(x + 16 * s, 16) / -32.0f;
  const float d = put_half(out + 208, signed_max_abs(steps, 16) / -128.0f);
  std::memset(out, 0, 192);
  for (int s = 0; s < 16; ++s) {
    const int scale = quantize(steps[s], inverse(d), -128, 127);
    out[192 + s] = static_cast<std::uint8_t>(static_cast<std::int8_t>(scale));
    const float step = d * static_cast<float>(scale);
    for (int l = 0; l < 16; ++l) {
      const int i = 16 * s + l;
      const int u = quantize(x[i], inverse(step), -32, 31) + 32;
      const int h = i >> 7, p = (i >> 5) & 3;
      out[64 * h + 32 * (p & 1) + (i & 31)] |= static_cast<std::uint8_t>((u & 15) << (p >= 2 ? 4 : 0));
      out[128 + 32 * h + (i & 31)] |= static_cast<std::uint8_t>((u >> 4) << (2 * p));
    }
  }
}

}  // namespace shape_writer
