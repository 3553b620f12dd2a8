#pragma once
// Random weight matrices in the file formats (F32, F16, BF16, Q8_0 and the
// other block-quantized types) on the host, viewed as the CPU engine sees
// them, and uploaded as the GPU kernels read them (Q8_0 through repack_q8_0,
// the other blocks as they are).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/device_weight_layout.h"
#include "gpu_types.h"
#include "harness.h"
#include "model/model_weights.h"

namespace snapkv::kernel_test {

struct HostMatrix {
  GgmlType type = GgmlType::F32;
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> bytes;

  std::size_t row_bytes() const;
  WeightMatrix view() const;  // the CPU engine's view
  // Every weight as f32, row-major: the CPU engine's conversion, every type.
  std::vector<float> to_f32() const;
};

// Weights uniform in [-scale, scale] (never zero); Q8_0: positive f16 scales
// around scale / 127 and int8 quants in [-127, 127] without 0; the other
// block types: random_block (random_blocks.h).
HostMatrix random_matrix(Random& random, GgmlType type, int rows, int cols, float scale);

struct DeviceWeights {
  DeviceBuffer data, scales;
  gpu::DeviceMatrix matrix;
};

DeviceWeights upload_weights(const HostMatrix& host, cudaStream_t stream);

std::string type_label(GgmlType type);

}  // namespace snapkv::kernel_test
