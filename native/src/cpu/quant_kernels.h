#pragma once
// The int8 dot-product kernels of the fast (not exact) matmul path, one set per
// instruction set. Each set lives in its own translation unit, compiled with
// that instruction set's target flags, and is chosen at run time from the
// CPU's features (cpu/kernel_choice.h), so one build runs well on any x86-64.
//
// The data they see is prepared by portable code (cpu/quant_prep.h, cpu/weight_unpack.h):
// - weights unpacked to w = scale * u + offset per group of G values
//   (G = 16 or 32, the type's sub-block), u a small integer, stored as u8,
//   or as s8 for kernels that take signed weights (u - 128 where u may pass
//   127, the offset taking the difference), in panels
//   of `panel_rows` rows interleaved four values at a time;
// - activations quantized per block of 32 to int8 in [-127, 127] with an f32
//   scale; per group g the kernel reads the block's scale and the scaled sum
//   of the group's int8 values (what the offset multiplies).
#include <cstddef>
#include <cstdint>

#include "gguf/ggml_type.h"

namespace snapkv {

// One panel of `panel_rows` weight rows over `groups` groups of `group_size`.
// quants: for each group, for each run of four values, for each row, the four
// quants of that row (group_size * panel_rows bytes per group). scales and
// offsets: panel_rows floats per group. Rows past the matrix are all zero.
struct QuantPanel {
  const std::uint8_t* quants;
  const float* scales;
  const float* offsets;
  int groups;
  int group_size;
};

// Tokens quantized per block of 32: quants (cols bytes per token), and per
// weight group the block's scale and scale * (sum of the group's quants).
struct QuantTokens {
  const std::int8_t* quants;
  const float* group_scales;
  const float* group_sums;
  std::size_t quant_stride;  // bytes from one token to the next
  std::size_t group_stride;  // floats from one token to the next
};

// F16 or BF16 weights as bf16 in panels of `panel_rows` rows, two values per
// row in each 32-bit word (a row's pair k, k + 1 at word (k / 2) * panel_rows
// + row); tokens as bf16 pairs, pair_stride words from one token to the next.
struct Bf16Panel {
  const std::uint32_t* pairs;
  int pair_count;
};
struct Bf16Tokens {
  const std::uint32_t* pairs;
  std::size_t pair_stride;
};

constexpr int kRowProductRows = 4;

// The AVX-512 sets' panels (int8 and bf16): two registers of 16 rows, so each
// token value broadcast meets two weight loads. The broadcasts, not the
// products, were what a 16-row tile waited on.
constexpr int kAvx512Lanes = 16;
constexpr int kAvx512PanelParts = 2;
constexpr int kAvx512PanelRows = kAvx512Lanes * kAvx512PanelParts;

// The lanes of part `part` that hold rows of the matrix, as a 16-bit mask,
// when the panel's first `valid_rows` rows do.
constexpr std::uint16_t part_mask(int valid_rows, int part) {
  const int rows = valid_rows - kAvx512Lanes * part;
  return rows <= 0 ? 0 : rows >= kAvx512Lanes ? 0xFFFFu : static_cast<std::uint16_t>((1u << rows) - 1u);
}

// `rows` consecutive stored rows of a block type (row_bytes apart, each
// `blocks` blocks long; rows is the kernel's: 8, or 16 for the types whose f32
// steps are the limit) against one token quantized with the type's group size,
// read straight from the blocks: no unpacking pass. The integer sums and the
// f32 steps are row_products' on the unpacked rows, so out[i] has the bits
// panel_product gives row i and this token in any batch.
using StoredRowProducts = void (*)(const std::uint8_t* rows, std::size_t row_bytes, int blocks,
                                   const QuantTokens& token, float* out);
constexpr int kMaxStoredRows = 16;
struct StoredRowKernel {
  StoredRowProducts products;  // null where the set has none for the type
  int rows;                    // per call, at most kMaxStoredRows
};

// Up to kBf16StoredRows consecutive stored F16 or BF16 rows (row_bytes apart,
// cols values each; out[i] for i < row_count) against one token as bf16
// pairs, read straight from the rows and converted in registers: each row's
// pairs meet the token's in bf16_panel_product's order, one chain per row,
// so out[i] has the bits bf16_panel_product gives row i and this token in any batch.
constexpr int kBf16StoredRows = 32;
using Bf16StoredRowProducts = void (*)(const std::uint8_t* rows, std::size_t row_bytes, int row_count, int cols,
                                       const Bf16Tokens& token, float* out);

struct QuantKernels {
  const char* name;
  int panel_rows;
  bool signed_weights;  // quants as s8 (else u8)
  // out[t * out_stride + r] = sum over the row of w * x, for t < tokens, r < valid_rows.
  void (*panel_product)(const QuantPanel& panel, const QuantTokens& tokens, int token_count, float* out,
                        std::size_t out_stride, int valid_rows);
  // Up to kRowProductRows weight rows against one token (a decode step):
  // row i's quants unpacked group after group (group_size bytes each, u8 or
  // s8 as panel_product's) at quants + i * groups * group_size, its scales and
  // offsets (one per group) at scales/offsets + i * groups; out[i] for each.
  // The f32 steps are panel_product's for each row, in its order, so a result
  // has the bits panel_product gives the same row and token in any batch;
  // the rows are independent chains, which hide the f32 latency.
  void (*row_products)(const std::uint8_t* quants, const float* scales, const float* offsets, int row_count,
                       int groups, int group_size, const QuantTokens& token, float* out);
  // out[t * out_stride + r] = sum over the row of w * x in bf16 products with
  // f32 sums, for t < tokens, r < valid_rows; null where the set has none.
  void (*bf16_panel_product)(const Bf16Panel& panel, const Bf16Tokens& tokens, int token_count, float* out,
                             std::size_t out_stride, int valid_rows);
  // The set's StoredRowKernel for a block type, its products null where it
  // has none (then decode unpacks rows for row_products); null in sets without any.
  StoredRowKernel (*stored_row_products)(GgmlType type);
  // The set's Bf16StoredRowProducts for F16 or BF16, or null where it has
  // none (then a decoded token of those types takes the f32 path).
  Bf16StoredRowProducts (*bf16_stored_row_products)(GgmlType type);
};

// The sets compiled into this build; null where the compiler could not
// target the instruction set (or the host is not x86-64).
const QuantKernels* portable_quant_kernels();
const QuantKernels* avx2_quant_kernels();
const QuantKernels* avxvnni_quant_kernels();  // avx2's, compiled with AVX-VNNI (cpu/avx2_set_names.h)
const QuantKernels* avx512vnni_quant_kernels();
const QuantKernels* avx512bf16_quant_kernels();  // avx512vnni's, and bf16 products

// The avx2 set's StoredRowKernel (cpu/stored_rows_avx2.cpp).
StoredRowKernel avx2_stored_row_products(GgmlType type);
StoredRowKernel avxvnni_stored_row_products(GgmlType type);  // the same, compiled with AVX-VNNI

// The avx512vnni set's StoredRowKernel (cpu/stored_rows_avx512vnni.cpp).
StoredRowKernel avx512vnni_stored_row_products(GgmlType type);

// The avx512bf16 set's Bf16StoredRowProducts (cpu/stored_rows_avx512bf16.cpp).
Bf16StoredRowProducts avx512bf16_stored_row_products(GgmlType type);

}  // namespace snapkv
