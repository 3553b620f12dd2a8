#include "random_blocks.h"

#include "common/engine_error.h"

namespace snapkv::kernel_test {

namespace {

void put_f16(std::uint8_t* block, int at, float value) {
  const std::uint16_t bits = f32_to_f16(value);
  block[at] = static_cast<std::uint8_t>(bits & 0xffu);
  block[at + 1] = static_cast<std::uint8_t>(bits >> 8);
}

// Q4_K / Q5_K: the 6-bit scale (which = 0) or min (which = 1) of sub-block j.
int k4_field(const std::uint8_t* packed, int j, int which) {
  if (j < 4) return packed[j + 4 * which] & 63;
  const int low = which == 0 ? packed[j + 4] & 15 : packed[j + 4] >> 4;
  const int high = packed[j - 4 * (1 - which)] >> 6;
  return low | (high << 4);
}

// Q3_K: the signed scale of 16-value sub-block j (the 6-bit field minus 32).
int q3k_sub_scale(const std::uint8_t* packed, int j) {
  const int low = (j < 8 ? packed[j] : packed[j - 8] >> 4) & 15;
  const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

float scale_magnitude(Random& random, float top) { return top * static_cast<float>(0.5 + 0.5 * random.uniform01()); }

}  // namespace

const std::vector<GgmlType>& block_quantized_types() {
  static const std::vector<GgmlType> types = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                                              GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K,
                                              GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
  return types;
}

void random_block(Random& random, GgmlType type, float scale, std::uint8_t* b) {
  const std::size_t bytes = ggml_type_traits(static_cast<std::uint32_t>(type))->block_bytes;
  for (std::size_t i = 0; i < bytes; ++i) b[i] = static_cast<std::uint8_t>(random.integer(0, 255));
  auto signed_scale = [&](float top) { return random.integer(0, 1) ? scale_magnitude(random, top) : -scale_magnitude(random, top); };
  switch (type) {
    case GgmlType::Q4_0: put_f16(b, 0, signed_scale(scale / 8)); break;
    case GgmlType::Q4_1:
      put_f16(b, 0, signed_scale(scale / 30));
      put_f16(b, 2, random.nonzero(scale / 2));
      break;
    case GgmlType::Q5_0: put_f16(b, 0, signed_scale(scale / 16)); break;
    case GgmlType::Q5_1:
      put_f16(b, 0, signed_scale(scale / 62));
      put_f16(b, 2, random.nonzero(scale / 2));
      break;
    case GgmlType::Q2_K:
      for (int j = 0; j < 16; ++j) {
        while ((b[j] & 15) == 0) b[j] = static_cast<std::uint8_t>(random.integer(0, 255));
      }
      put_f16(b, 80, scale_magnitude(random, scale / 45));
      put_f16(b, 82, scale_magnitude(random, scale / 30));
      break;
    case GgmlType::Q3_K: {
      auto any_zero = [&] {
        for (int j = 0; j < 16; ++j)
          if (q3k_sub_scale(b + 96, j) == 0) return true;
        return false;
      };
      while (any_zero()) {
        for (int k = 96; k < 108; ++k) b[k] = static_cast<std::uint8_t>(random.integer(0, 255));
      }
      put_f16(b, 108, scale_magnitude(random, scale / 128));
      break;
    }
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: {
      auto any_zero = [&] {
        for (int j = 0; j < 8; ++j)
          if (k4_field(b + 4, j, 0) == 0) return true;
        return false;
      };
      while (any_zero()) {
        for (int k = 4; k < 16; ++k) b[k] = static_cast<std::uint8_t>(random.integer(0, 255));
      }
      const float top_quant = type == GgmlType::Q5_K ? 31 : 15;
      put_f16(b, 0, scale_magnitude(random, scale / (63 * top_quant)));
      put_f16(b, 2, scale_magnitude(random, scale / (63 * 2)));
      break;
    }
    case GgmlType::Q6_K:
      for (int j = 192; j < 208; ++j) {
        while (b[j] == 0) b[j] = static_cast<std::uint8_t>(random.integer(0, 255));
      }
      put_f16(b, 208, scale_magnitude(random, scale / (128 * 32)));
      break;
    default: fail(ErrorCode::InvalidArgument, "random_block: ", ggml_type_name(type), " is not block-quantized here");
  }
}

}  // namespace snapkv::kernel_test
