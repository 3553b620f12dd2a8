// The avxvnni set's one-token products: cpu/stored_rows_avx2.cpp compiled with
// AVX-VNNI (see cpu/quant_kernels_avxvnni.cpp).
#define SNAPKV_AVXVNNI_SET 1
#include "cpu/stored_rows_avx2.cpp"  // NOLINT(bugprone-suspicious-include): compiled a second time, by design
