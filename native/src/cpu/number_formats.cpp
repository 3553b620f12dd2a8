#include "cpu/number_formats.h"

#include "cpu/block_decoders.h"
#include "cpu/simd.h"

namespace snapkv {

void convert_row_to_f32(GgmlType type, const void* row, float* out, int count) {
  switch (type) {
    case GgmlType::F32:
      std::memcpy(out, row, sizeof(float) * static_cast<std::size_t>(count));
      return;
    case GgmlType::F16: {
      const auto* in = static_cast<const std::uint16_t*>(row);
      int i = 0;
#if defined(__AVX512F__)
      for (; i + 16 <= count; i += 16) {
        _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i))));
      }
#elif defined(__F16C__)
      for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
      }
#endif
      for (; i < count; ++i) out[i] = f16_to_f32(in[i]);
      return;
    }
    case GgmlType::BF16: {
      const auto* in = static_cast<const std::uint16_t*>(row);
      for (int i = 0; i < count; ++i) out[i] = bf16_to_f32(in[i]);
      return;
    }
    default: {
      // Q8_0, the legacy 4- and 5-bit formats and the K-quants: whole blocks.
      const BlockFormat* format = block_format(type);
      if (format != nullptr) format->decode(static_cast<const std::uint8_t*>(row), count / format->values, out);
      return;
    }
  }
}

}  // namespace snapkv
