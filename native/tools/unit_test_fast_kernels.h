#pragma once
// snapkv-unit-test's checks of the fast matmul path (cpu/matmul_quantized.h):
// every kernel set this CPU runs, for every block type, against the exact f32
// path within the bound that the activations' rounding allows; and its
// `kernels` command, which says which set runs (test/cpu-kernels.test.ts
// forces each one through SNAPKV_CPU_KERNELS).
#include "unit_test_weight_blocks.h"

namespace snapkv_unit {

std::vector<Check> fast_kernel_checks();

// snapkv-unit-test kernels: prints {"active": NAME, "runs": [NAMES]} and checks
// that matmul() with a fast matrix gives the active set's bits. Returns the exit code.
int kernels_command();

}  // namespace snapkv_unit
