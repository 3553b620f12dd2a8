#pragma once
// The avx2 kernel files (quant_kernels_avx2.cpp, stored_rows_avx2.cpp) are
// compiled twice: as themselves, the avx2 set, and through the avxvnni files
// (quant_kernels_avxvnni.cpp, stored_rows_avxvnni.cpp), which define
// SNAPKV_AVXVNNI_SET and are compiled with AVX-VNNI (cpu/int8_dot_avx2.h says
// what changes). This names each copy's exported functions and kernel set,
// and says whether the compiler targets the copy's instructions (else its
// functions return null).
#ifndef SNAPKV_AVXVNNI_SET
#define SNAPKV_AVXVNNI_SET 0
#endif

#if SNAPKV_AVXVNNI_SET
#define SNAPKV_AVX2_SET_NAME "avxvnni"
#define SNAPKV_AVX2_SET_KERNELS avxvnni_quant_kernels
#define SNAPKV_AVX2_SET_STORED_ROWS avxvnni_stored_row_products
#else
#define SNAPKV_AVX2_SET_NAME "avx2"
#define SNAPKV_AVX2_SET_KERNELS avx2_quant_kernels
#define SNAPKV_AVX2_SET_STORED_ROWS avx2_stored_row_products
#endif

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__) && (!SNAPKV_AVXVNNI_SET || defined(__AVXVNNI__))
#define SNAPKV_AVX2_SET_TARGETED 1
#else
#define SNAPKV_AVX2_SET_TARGETED 0
#endif
