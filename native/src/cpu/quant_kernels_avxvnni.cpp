// The avxvnni set: the avx2 set's kernels compiled with AVX-VNNI, for the CPUs
// that have it without AVX-512 (Intel's Alder Lake and later client chips);
// their int8 dot products take one vpdpbusd where AVX2 takes maddubs and madd
// (cpu/int8_dot_avx2.h, cpu/avx2_set_names.h).
#define SNAPKV_AVXVNNI_SET 1
#include "cpu/quant_kernels_avx2.cpp"  // NOLINT(bugprone-suspicious-include): compiled a second time, by design
