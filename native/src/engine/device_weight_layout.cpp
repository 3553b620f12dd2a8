#include "engine/device_weight_layout.h"

#include "common/engine_error.h"

namespace snapkv {

namespace {

std::size_t round_up_16(std::size_t bytes) { return (bytes + 15) / 16 * 16; }

}  // namespace

std::optional<gpu::WeightType> gpu_weight_type(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return gpu::WeightType::F32;
    case GgmlType::F16: return gpu::WeightType::F16;
    case GgmlType::BF16: return gpu::WeightType::BF16;
    case GgmlType::Q4_0: return gpu::WeightType::Q4_0;
    case GgmlType::Q4_1: return gpu::WeightType::Q4_1;
    case GgmlType::Q5_0: return gpu::WeightType::Q5_0;
    case GgmlType::Q5_1: return gpu::WeightType::Q5_1;
    case GgmlType::Q8_0: return gpu::WeightType::Q8_0;
    case GgmlType::Q2_K: return gpu::WeightType::Q2_K;
    case GgmlType::Q3_K: return gpu::WeightType::Q3_K;
    case GgmlType::Q4_K: return gpu::WeightType::Q4_K;
    case GgmlType::Q5_K: return gpu::WeightType::Q5_K;
    case GgmlType::Q6_K: return gpu::WeightType::Q6_K;
    default: return std::nullopt;
  }
}

bool gpu_reads_weight_type(GgmlType type) { return gpu_weight_type(type).has_value(); }

DeviceMatrixLayout device_matrix_layout(GgmlType type, int rows, int cols, const char* name) {
  if (!gpu_reads_weight_type(type)) {
    fail(ErrorCode::UnsupportedModel, name, ": the CUDA kernels do not read ", ggml_type_name(type),
         " weights (they read F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K..Q6_K); use backend 'cpu'");
  }
  if (rows <= 0 || cols <= 0) fail(ErrorCode::InvalidArgument, name, ": matrix of ", rows, " x ", cols);
  const GgmlTypeTraits traits = *ggml_type_traits(static_cast<std::uint32_t>(type));
  if (static_cast<std::size_t>(cols) % traits.block_elements != 0) {
    fail(ErrorCode::InvalidArgument, name, ": ", ggml_type_name(type), " matrix with ", cols,
         " columns (not a multiple of its block of ", traits.block_elements, ")");
  }
  const std::size_t elements = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  DeviceMatrixLayout layout;
  layout.kernel_type = *gpu_weight_type(type);
  if (type == GgmlType::Q8_0) {
    layout.repacked = true;
    layout.data_bytes = elements;
    layout.scales_offset = round_up_16(elements);
    layout.scales_bytes = elements / 32 * 2;
    layout.total_bytes = layout.scales_offset + layout.scales_bytes;
  } else {
    layout.data_bytes = elements / traits.block_elements * traits.block_bytes;
    layout.total_bytes = layout.data_bytes;
  }
  return layout;
}

}  // namespace snapkv
