#include "host_weights.h"

#include <cstring>

#include "cpu/number_formats.h"
#include "random_blocks.h"
#include "weight_formats.h"

namespace snapkv::kernel_test {

std::size_t HostMatrix::row_bytes() const {
  const GgmlTypeTraits traits = *ggml_type_traits(static_cast<std::uint32_t>(type));
  return static_cast<std::size_t>(cols) / traits.block_elements * traits.block_bytes;
}

WeightMatrix HostMatrix::view() const {
  WeightMatrix w;
  w.type = type;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = row_bytes();
  w.data = bytes.data();
  return w;
}

std::vector<float> HostMatrix::to_f32() const {
  std::vector<float> out(static_cast<std::size_t>(rows) * cols);
  // The CPU engine's decoders, which test/weight-decoders.test.ts holds bit-exact against an
  // independent reference decoder: the kernels are checked against what the CPU backend computes.
  for (int r = 0; r < rows; ++r) convert_row_to_f32(type, bytes.data() + r * row_bytes(), out.data() + static_cast<std::size_t>(r) * cols, cols);
  return out;
}

HostMatrix random_matrix(Random& random, GgmlType type, int rows, int cols, float scale) {
  HostMatrix m;
  m.type = type;
  m.rows = rows;
  m.cols = cols;
  m.bytes.resize(m.row_bytes() * rows);
  const std::size_t count = static_cast<std::size_t>(rows) * cols;
  switch (type) {
    case GgmlType::F32: {
      const std::vector<float> v = random.nonzero_vector(count, scale);
      std::memcpy(m.bytes.data(), v.data(), count * 4);
      break;
    }
    case GgmlType::F16:
    case GgmlType::BF16: {
      const DType half = type == GgmlType::F16 ? DType::F16 : DType::BF16;
      auto* out = reinterpret_cast<std::uint16_t*>(m.bytes.data());
      for (std::size_t i = 0; i < count; ++i) out[i] = f32_to_half_bits(random.nonzero(scale), half);
      break;
    }
    case GgmlType::Q8_0: {
      auto* blocks = reinterpret_cast<BlockQ8_0*>(m.bytes.data());
      for (std::size_t b = 0; b < count / 32; ++b) {
        const float s = scale / 127.0f * (0.5f + 0.5f * static_cast<float>(random.uniform01()));
        blocks[b].scale_f16 = f32_to_f16(s);
        for (auto& q : blocks[b].quants) {
          int v = 0;
          while (v == 0) v = random.integer(-127, 127);
          q = static_cast<std::int8_t>(v);
        }
      }
      break;
    }
    default: {
      const GgmlTypeTraits traits = *ggml_type_traits(static_cast<std::uint32_t>(type));
      for (std::size_t b = 0; b < count / traits.block_elements; ++b) {
        random_block(random, type, scale, m.bytes.data() + b * traits.block_bytes);
      }
      break;
    }
  }
  return m;
}

DeviceWeights upload_weights(const HostMatrix& host, cudaStream_t stream) {
  DeviceWeights w;
  w.matrix.type = *gpu_weight_type(host.type);
  w.matrix.rows = host.rows;
  w.matrix.cols = host.cols;
  if (host.type == GgmlType::Q8_0) {
    DeviceBuffer raw = upload_vector(host.bytes);
    const std::size_t count = static_cast<std::size_t>(host.rows) * host.cols;
    w.data = DeviceBuffer(count);
    w.scales = DeviceBuffer(count / 32 * 2);
    w.data.poison();
    w.scales.poison();
    gpu::repack_q8_0(raw.get(), host.rows, host.cols, w.data.get(), w.scales.get(), stream);
    gpu::check_cuda(cudaStreamSynchronize(stream), "repack_q8_0");
    w.matrix.scales = w.scales.get();
  } else {
    w.data = upload_vector(host.bytes);
  }
  w.matrix.data = w.data.get();
  return w;
}

std::string type_label(GgmlType type) { return ggml_type_name(type); }

}  // namespace snapkv::kernel_test
