#pragma once
// snapkv-unit-test's checks of the one-token F16 and BF16 products read from
// the stored rows (Bf16StoredRowProducts, cpu/quant_kernels.h): the bits of
// the bf16 panels a prefill uses, for every kernel set this CPU runs that has them.
#include "unit_test_weight_blocks.h"

namespace snapkv_unit {

std::vector<Check> bf16_row_checks();

}  // namespace snapkv_unit
