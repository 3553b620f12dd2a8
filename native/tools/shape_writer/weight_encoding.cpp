#include "shape_writer/weight_encoding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "shape_writer/block_encoding.h"

namespace shape_writer {

namespace {

const WeightTypeInfo kTypes[] = {
    {"F32", 0, 1, 4, 0},
    {"F16", 1, 1, 2, 1},
    {"BF16", 30, 1, 2, 32},
    {"Q8_0", 8, 32, 34, 7},
    {"Q4_0", 2, 32, 18, 2},
    {"Q5_0", 6, 32, 22, 8},
    {"Q4_K", 12, 256, 144, 14},
    {"Q5_K", 13, 256, 176, 16},
    {"Q6_K", 14, 256, 210, 18},
};
constexpr int kTypeCount = sizeof(kTypes) / sizeof(kTypes[0]);

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Values of mean + std * z with z approximately standard normal: the sum of
// four uniforms (Irwin-Hall), centred and scaled to unit variance. One 64-bit
// draw per value keeps a 15 GB file to seconds of arithmetic; the exact
// distribution does not matter for speed, only that activations stay finite.
class ValueSource {
 public:
  ValueSource(std::uint64_t seed, std::uint64_t chunk, ValueRange range)
      : state_(seed ^ (chunk * 0xd1b54a32d192ed03ull)), range_(range) {
    splitmix64(state_);
  }

  float next() {
    const std::uint64_t bits = splitmix64(state_);
    const std::uint32_t sum = static_cast<std::uint32_t>(bits & 0xffff) + static_cast<std::uint32_t>((bits >> 16) & 0xffff) +
                              static_cast<std::uint32_t>((bits >> 32) & 0xffff) + static_cast<std::uint32_t>(bits >> 48);
    // Four U(0,1) sum to mean 2, variance 1/3.
    constexpr float kScale = 1.7320508f / 65536.0f;
    const float z = (static_cast<float>(sum) - 2.0f * 65535.0f) * kScale;
    return range_.mean + range_.std * z;
  }

 private:
  std::uint64_t state_;
  ValueRange range_;
};

std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float float_of(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

void put_u16(std::uint8_t* out, std::uint16_t value) {
  out[0] = static_cast<std::uint8_t>(value & 0xff);
  out[1] = static_cast<std::uint8_t>(value >> 8);
}

// ggml's reference Q8_0 quantizer: d = amax / 127, q = round(x / d) half away
// from zero, d stored as f16.
void encode_q8_0_block(const float* values, std::uint8_t* out) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(values[j]));
  const float d = amax / 127.0f;
  const float inverse = d != 0 ? 1.0f / d : 0.0f;
  put_u16(out, f32_to_f16(d));
  for (int j = 0; j < 32; ++j) {
    const long q = std::lround(values[j] * inverse);
    out[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::clamp(q, -127L, 127L)));
  }
}

}  // namespace

WeightType parse_weight_type(const std::string& name) {
  for (int i = 0; i < kTypeCount; ++i) {
    if (name == kTypes[i].name) return static_cast<WeightType>(i);
  }
  throw std::invalid_argument("unknown weight type '" + name + "'; choose one of: " + weight_type_names());
}

std::string weight_type_names() {
  std::string names;
  for (const WeightTypeInfo& info : kTypes) names += (names.empty() ? "" : ", ") + std::string(info.name);
  return names;
}

const WeightTypeInfo& type_info(WeightType type) { return kTypes[static_cast<int>(type)]; }

std::uint64_t encoded_bytes(WeightType type, std::uint64_t count) {
  const WeightTypeInfo& info = type_info(type);
  if (count % info.block_values != 0) {
    throw std::invalid_argument(std::string(info.name) + " stores whole blocks of " + std::to_string(info.block_values) +
                                " values, not " + std::to_string(count));
  }
  return count / info.block_values * info.block_bytes;
}

std::uint64_t tensor_seed(std::uint64_t file_seed, const std::string& tensor_name) {
  // FNV-1a over the name, mixed with the file seed.
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : tensor_name) hash = (hash ^ c) * 0x100000001b3ull;
  std::uint64_t state = hash ^ (file_seed * 0x9e3779b97f4a7c15ull);
  return splitmix64(state);
}

std::uint16_t f32_to_f16(float value) {
  const std::uint32_t bits = bits_of(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) return sign | (magnitude > 0x7f800000u ? 0x7e00u : 0x7c00u);
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // 65520 and above round to infinity
  if (magnitude < 0x38800000u) {
    // Below 2^-14 the half is subnormal: a count of 2^-24 steps, rounded to
    // nearest even by the default floating-point environment.
    const float steps = std::nearbyint(float_of(magnitude) * 16777216.0f);
    return sign | static_cast<std::uint16_t>(steps);
  }
  const std::uint32_t exponent = (magnitude >> 23) - 127 + 15;
  const std::uint32_t mantissa = magnitude & 0x7fffffu;
  std::uint32_t half = (exponent << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;  // a carry into the exponent is still right
  return sign | static_cast<std::uint16_t>(half);
}

std::uint16_t f32_to_bf16(float value) {
  std::uint32_t bits = bits_of(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

void encode_random_chunk(WeightType type, ValueRange range, std::uint64_t seed, std::uint64_t chunk,
                         std::uint64_t count, std::uint8_t* out) {
  ValueSource source(seed, chunk, range);
  switch (type) {
    case WeightType::F32:
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint32_t bits = bits_of(source.next());
        std::memcpy(out + 4 * i, &bits, 4);
      }
      break;
    case WeightType::F16:
      for (std::uint64_t i = 0; i < count; ++i) put_u16(out + 2 * i, f32_to_f16(source.next()));
      break;
    case WeightType::BF16:
      for (std::uint64_t i = 0; i < count; ++i) put_u16(out + 2 * i, f32_to_bf16(source.next()));
      break;
    case WeightType::Q8_0: {
      float block[32];
      for (std::uint64_t b = 0; b < count / 32; ++b) {
        for (float& v : block) v = source.next();
        encode_q8_0_block(block, out + 34 * b);
      }
      break;
    }
    default: {
      void (*encode)(const float*, std::uint8_t*) =
          type == WeightType::Q4_0 ? encode_q4_0_block
          : type == WeightType::Q5_0 ? encode_q5_0_block
          : type == WeightType::Q4_K ? encode_q4_k_block
          : type == WeightType::Q5_K ? encode_q5_k_block
                                     : encode_q6_k_block;
      const WeightTypeInfo& info = type_info(type);
      float block[256];
      for (std::uint64_t b = 0; b < count / info.block_values; ++b) {
        for (std::uint32_t i = 0; i < info.block_values; ++i) block[i] = source.next();
        encode(block, out + static_cast<std::uint64_t>(info.block_bytes) * b);
      }
      break;
    }
  }
}

}  // namespace shape_writer
