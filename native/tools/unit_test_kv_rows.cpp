#include "unit_test_kv_rows.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>

#include "common/engine_error.h"
#include "kv/kv_cache.h"
#include "kv/kv_rows.h"

namespace snapkv_unit {

namespace {

using namespace snapkv;

void expect(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

// Round-to-nearest-even onto a float grid with `mantissa_bits` explicit bits
// and smallest normal exponent `min_exponent`, in float64: the reference the
// engine's f16 and bf16 encoders must meet exactly.
double round_to_grid(double x, int mantissa_bits, int min_exponent) {
  if (x == 0) return 0;
  const int exponent = std::max(static_cast<int>(std::floor(std::log2(std::fabs(x)))), min_exponent);
  const double ulp = std::ldexp(1.0, exponent - mantissa_bits);
  return std::nearbyint(x / ulp) * ulp;
}

// Random non-zero values over many magnitudes, both signs.
std::vector<float> random_values(int count, std::mt19937& random, float low_exp, float high_exp) {
  std::uniform_real_distribution<float> exponent(low_exp, high_exp);
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = std::exp2(exponent(random)) * ((random() & 1u) ? 1.0f : -1.0f);
  return values;
}

std::vector<std::uint8_t> encoded(KvType type, const std::vector<float>& rows, int count, int d) {
  std::vector<std::uint8_t> bytes(kv_row_bytes(type, d) * static_cast<std::size_t>(count));
  for (int j = 0; j < count; ++j) {
    encode_kv_row(type, rows.data() + static_cast<std::size_t>(j) * d, bytes.data() + j * kv_row_bytes(type, d), d);
  }
  return bytes;
}

std::vector<float> decoded(KvType type, const std::vector<std::uint8_t>& bytes, int count, int d) {
  std::vector<float> rows(static_cast<std::size_t>(count) * d);
  for (int j = 0; j < count; ++j) {
    decode_kv_row(type, bytes.data() + j * kv_row_bytes(type, d), rows.data() + static_cast<std::size_t>(j) * d, d);
  }
  return rows;
}

// widen_kv_rows gives decode_kv_row's values bit for bit, rows `stride`
// apart, at head sizes that are not multiples of the vector width.
void check_widen(KvType type, int d) {
  std::mt19937 random(static_cast<unsigned>(d) * 31u + static_cast<unsigned>(type));
  const int count = 37;
  const std::vector<float> rows = random_values(count * d, random, -4.0f, 3.0f);
  const std::vector<std::uint8_t> bytes = encoded(type, rows, count, d);
  std::vector<float> widened(static_cast<std::size_t>(count) * d, std::nanf(""));
  widen_kv_rows(type, bytes.data(), kv_row_bytes(type, d), count, d, widened.data());
  expect(widened == decoded(type, bytes, count, d), std::string(kv_type_name(type)) + " d=" + std::to_string(d) +
                                                        ": widened rows differ from decoded rows");
}

}  // namespace

std::vector<std::pair<std::string, std::function<void()>>> kv_row_checks() {
  return {
      {"KV f16 and bf16 rows round to nearest even (float64 rule), f16 saturating at 65504",
       [] {
         std::mt19937 random(11);
         const std::vector<float> values = random_values(4096, random, -26.0f, 17.0f);
         const int d = static_cast<int>(values.size());
         const std::vector<float> f16 = decoded(KvType::F16, encoded(KvType::F16, values, 1, d), 1, d);
         const std::vector<float> bf16 = decoded(KvType::BF16, encoded(KvType::BF16, values, 1, d), 1, d);
         for (int i = 0; i < d; ++i) {
           const double x = values[i];
           const double want16 = std::fabs(x) > 65504.0 ? std::copysign(65504.0, x) : round_to_grid(x, 10, -14);
           expect(f16[i] == static_cast<float>(want16),
                  "f16 of " + std::to_string(x) + " is " + std::to_string(f16[i]) + ", expected " + std::to_string(want16));
           expect(bf16[i] == static_cast<float>(round_to_grid(x, 7, -126)), "bf16 of " + std::to_string(x));
         }
         // Ties go to the even neighbour: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
         expect(f32_to_f16_bits(1.0f + std::ldexp(1.0f, -11)) == 0x3c00u, "f16 tie rounds to even");
         expect(f32_to_f16_bits(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02u, "f16 tie rounds to even (up)");
         expect(f32_to_bf16_bits(1.0f + std::ldexp(1.0f, -8)) == 0x3f80u, "bf16 tie rounds to even");
       }},
      {"KV q8_0 rows: an f16 scale of max|x|/127 per 32 values, each value within half a step",
       [] {
         std::mt19937 random(12);
         const int d = 128;
         const std::vector<float> values = random_values(d, random, -5.0f, 4.0f);
         const std::vector<std::uint8_t> bytes = encoded(KvType::Q8_0, values, 1, d);
         const std::vector<float> back = decoded(KvType::Q8_0, bytes, 1, d);
         for (int b = 0; b < d / kQ8BlockValues; ++b) {
           double largest = 0;
           for (int i = 0; i < kQ8BlockValues; ++i) largest = std::max(largest, std::fabs(static_cast<double>(values[b * 32 + i])));
           const double step = round_to_grid(largest / 127.0, 10, -14);
           for (int i = 0; i < kQ8BlockValues; ++i) {
             expect(std::fabs(back[b * 32 + i] - values[b * 32 + i]) <= step * 0.5 * (1 + 1e-3) + 1e-12,
                    "q8_0 value " + std::to_string(b * 32 + i));
           }
         }
       }},
      {"KV rows stored, widened to f32 and stored again keep their bits (prefix files hold f32)",
       [] {
         std::mt19937 random(13);
         for (KvType type : {KvType::F16, KvType::BF16, KvType::Q8_0}) {
           const int d = 64, count = 9;
           const std::vector<float> values = random_values(count * d, random, -3.0f, 5.0f);
           const std::vector<std::uint8_t> once = encoded(type, values, count, d);
           const std::vector<std::uint8_t> twice = encoded(type, decoded(type, once, count, d), count, d);
           expect(once == twice, std::string(kv_type_name(type)) + " rows changed on a round trip through f32");
         }
       }},
      {"KV rows widened a tile at a time equal the decoded rows, every type, at odd head sizes",
       [] {
         for (int d : {8, 16, 24, 36, 40, 64, 72, 128}) {
           check_widen(KvType::F32, d);
           check_widen(KvType::F16, d);
           check_widen(KvType::BF16, d);
         }
         for (int d : {32, 64, 96, 128}) check_widen(KvType::Q8_0, d);
       }},
      {"KV cache bytes follow the type; q8_0 refuses a head size it cannot block; f32 views only on f32 caches",
       [] {
         const int layers = 28, heads = 2, d = 128, capacity = 100;
         const std::size_t f32 = KvCache(layers, heads, d, capacity, KvType::F32).capacity_bytes();
         expect(f32 == std::size_t{28} * 2 * 2 * 100 * 128 * 4, "f32 bytes");
         expect(KvCache(layers, heads, d, capacity, KvType::F16).capacity_bytes() * 2 == f32, "f16 is half");
         expect(KvCache(layers, heads, d, capacity, KvType::BF16).capacity_bytes() * 2 == f32, "bf16 is half");
         expect(KvCache(layers, heads, d, capacity, KvType::Q8_0).capacity_bytes() * 128 == f32 * 34, "q8_0 is 34/128");
         KvCache cache(1, 1, 64, 8, KvType::F16);
         cache.append(3);
         expect(cache.used_bytes() == 2 * 3 * 64 * 2, "used bytes of 3 f16 tokens");
         bool refused = false;
         try {
           KvCache bad(1, 1, 48, 8, KvType::Q8_0);
         } catch (const EngineError& error) {
           refused = error.code() == ErrorCode::UnsupportedModel && std::string(error.what()).find("f16") != std::string::npos;
         }
         expect(refused, "q8_0 with head size 48 is refused, suggesting f16");
         refused = false;
         try {
           cache.keys(0, 0);
         } catch (const EngineError& error) {
           refused = error.code() == ErrorCode::InvalidArgument;
         }
         expect(refused, "an f16 cache gives no f32 view");
         std::vector<float> row(64 * 2), back(64 * 2);
         for (int i = 0; i < 128; ++i) row[i] = 0.25f * static_cast<float>(i - 50);  // exact in f16
         cache.write_rows(0, 1, 0, 5, 2, row.data());
         cache.read_rows(0, 1, 0, 5, 2, back.data());
         expect(row == back, "write_rows then read_rows of f16-exact values");
       }},
  };
}

}  // namespace snapkv_unit
