#pragma once
// Which kernel set the fast matmul path runs, chosen once per process from the
// CPU's features. SNAPKV_CPU_KERNELS=avx512bf16|avx512vnni|avxvnni|avx2|portable forces one (for
// tests and comparisons); forcing a set this CPU cannot run is an error.
#include <string>
#include <vector>

#include "cpu/quant_kernels.h"

namespace snapkv {

// The names a user can force, best first: the one list of kernel sets.
const std::vector<std::string>& quant_kernel_names();

// The set of that name if this build has it and this CPU runs it, else null.
const QuantKernels* quant_kernels_named(const std::string& name);

// The set in use: SNAPKV_CPU_KERNELS if set, else the best this CPU runs.
const QuantKernels& active_quant_kernels();

}  // namespace snapkv
