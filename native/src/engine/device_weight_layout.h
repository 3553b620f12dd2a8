#pragma once
// How the CUDA backend lays a weight matrix out in device memory: host-side
// arithmetic only (no CUDA types), so that it is tested on any machine.
//
// F32, F16, BF16: the file's rows as they are. Q8_0: repacked into int8 quants
// [rows][cols] (16-byte loads) and f16 scales [rows][cols / 32] after them.
// Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K: the file's blocks as they are (rows of
// cols / block_elements blocks, one after another); the kernels decode them
// in place with 16-bit loads (every field of these blocks sits at an even
// offset and every block size is even).
#include <cstddef>
#include <optional>

#include "gguf/ggml_type.h"
#include "gpu_types.h"

namespace snapkv {

// The kernels' name for a file's weight type (matvec, GEMM operand
// conversion, embedding lookup), or nothing for a type they do not read. The
// one map between the two lists; a unit check holds the kernels' block shapes
// to the file format's through it.
std::optional<gpu::WeightType> gpu_weight_type(GgmlType type);
bool gpu_reads_weight_type(GgmlType type);

struct DeviceMatrixLayout {
  std::size_t data_bytes = 0;     // values, quants or blocks, from offset 0
  std::size_t scales_offset = 0;  // Q8_0: where the f16 scales start (16-byte aligned); else 0
  std::size_t scales_bytes = 0;   // Q8_0 only
  std::size_t total_bytes = 0;    // one allocation holds both
  bool repacked = false;          // Q8_0: the upload goes through repack_q8_0
  gpu::WeightType kernel_type = gpu::WeightType::F32;
};

// Throws UnsupportedModel naming `name` for a type the kernels do not read,
// InvalidArgument for non-positive sizes or a row length that is not a whole
// number of the type's blocks.
DeviceMatrixLayout device_matrix_layout(GgmlType type, int rows, int cols, const char* name);

}  // namespace snapkv
