/**
 * Reference decoders of ggml's block-quantized weight formats, written from the
 * block layouts (ggml-common.h's structs and the dequantization formulas), not
 * from the engine. Each format is stated as "where value i of a block lives":
 * its quant bits, its sub-block's scale (and min), so the code reads as the
 * layout rather than as a decoding loop.
 *
 * Values are computed exactly in float64 (the products of an f16 scale with the
 * block's small integers, and their difference, are exact there) and then
 * rounded once to float32: what a float32 decoder that rounds only at the end
 * produces, which ggml's formulas do because their products are exact in f32.
 */
import { f16Value } from '../fixtures/half-floats';

export type BlockTypeName = 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q8_0' | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K';

interface BlockLayout {
  readonly values: number;
  readonly bytes: number;
  /** Value i (0 <= i < values) of the block that starts at `at`. */
  readonly value: (b: Uint8Array, at: number, i: number) => number;
}

const half = (b: Uint8Array, at: number): number => f16Value(b[at] | (b[at + 1] << 8));
const nibble = (byte: number, high: boolean): number => (high ? byte >> 4 : byte & 15);
const bit = (byte: number, index: number): number => (byte >> index) & 1;
const int8 = (byte: number): number => (byte << 24) >> 24;

/** Legacy 32-value blocks: value i is the low nibble of qs[i] for i < 16, else the high nibble of qs[i - 16]. */
const legacyNibble = (b: Uint8Array, qs: number, i: number): number => nibble(b[qs + (i & 15)], i >= 16);
/** Q5_0 / Q5_1: bit i of the little-endian 32-bit word qh is value i's fifth bit. */
const fifthBit = (b: Uint8Array, qh: number, i: number): number => bit(b[qh + (i >> 3)], i & 7);

/**
 * Q4_K / Q5_K: eight 6-bit (scale, min) pairs in 12 bytes. Pairs 0..3 sit in
 * the low 6 bits of bytes 0..3 (scales) and 4..7 (mins). Pairs 4..7 keep their
 * low 4 bits in bytes 8..11 (scale: low nibble, min: high nibble) and their top
 * 2 bits in the top 2 bits of bytes 0..3 (scale) and 4..7 (min).
 */
function kScaleMin(b: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [b[at + j] & 63, b[at + 4 + j] & 63];
  const packed = b[at + 4 + j];
  return [(packed & 15) | ((b[at + j - 4] >> 6) << 4), (packed >> 4) | ((b[at + j] >> 6) << 4)];
}

/**
 * Q3_K: sixteen 6-bit scales in 12 bytes, stored plus 32. Scale s keeps its low
 * 4 bits in byte s (s < 8: low nibble) or byte s - 8 (high nibble), its top 2
 * bits in byte 8 + s % 4 at bit 2 * floor(s / 4).
 */
function q3Scale(b: Uint8Array, at: number, s: number): number {
  const low = nibble(b[at + (s & 7)], s >= 8);
  const top = (b[at + 8 + (s & 3)] >> (2 * (s >> 2))) & 3;
  return (low | (top << 4)) - 32;
}

/*
 * The K-quant 2-bit planes (Q2_K, Q3_K): value i lies in half h = i >> 7; each
 * half's 32 quant bytes are read four times, at shift 2 * ((i >> 5) & 3); the
 * byte is qs[32 h + (i & 31)]. Sub-blocks are 16 values: scale index i >> 4.
 * Q4_K / Q5_K: value i lies in a 64-value chunk c = i >> 6 reading qs[32 c +
 * (i & 31)], low nibble for the first 32, high for the next; sub-blocks of 32
 * (index i >> 5). Q6_K: half h = i >> 7, quarter p = (i >> 5) & 3; low 4 bits
 * from ql[64 h + 32 (p & 1) + (i & 31)] (nibble p >> 1), top 2 bits from
 * qh[32 h + (i & 31)] at bit 2 p; sub-blocks of 16 (int8 scale i >> 4).
 */
const LAYOUTS: Readonly<Record<BlockTypeName, BlockLayout>> = {
  // { f16 d; u8 qs[16] }: d * (q - 8)
  Q4_0: { values: 32, bytes: 18, value: (b, at, i) => half(b, at) * (legacyNibble(b, at + 2, i) - 8) },
  // { f16 d; f16 m; u8 qs[16] }: d * q + m
  Q4_1: { values: 32, bytes: 20, value: (b, at, i) => half(b, at) * legacyNibble(b, at + 4, i) + half(b, at + 2) },
  // { f16 d; u8 qh[4]; u8 qs[16] }: d * (q - 16)
  Q5_0: {
    values: 32,
    bytes: 22,
    value: (b, at, i) => half(b, at) * ((legacyNibble(b, at + 6, i) | (fifthBit(b, at + 2, i) << 4)) - 16),
  },
  // { f16 d; f16 m; u8 qh[4]; u8 qs[16] }: d * q + m
  Q5_1: {
    values: 32,
    bytes: 24,
    value: (b, at, i) => half(b, at) * (legacyNibble(b, at + 8, i) | (fifthBit(b, at + 4, i) << 4)) + half(b, at + 2),
  },
  // { f16 d; i8 qs[32] }: d * q
  Q8_0: { values: 32, bytes: 34, value: (b, at, i) => half(b, at) * int8(b[at + 2 + i]) },
  // { u8 scales[16] (scale | min << 4); u8 qs[64]; f16 d; f16 dmin }: d * scale * q - dmin * min
  Q2_K: {
    values: 256,
    bytes: 84,
    value: (b, at, i) => {
      const q = (b[at + 16 + 32 * (i >> 7) + (i & 31)] >> (2 * ((i >> 5) & 3))) & 3;
      const packed = b[at + (i >> 4)];
      return half(b, at + 80) * (packed & 15) * q - half(b, at + 82) * (packed >> 4);
    },
  },
  // { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }: d * scale * (q2 - (high bit clear ? 4 : 0)),
  // the high bit of value i being bit i >> 5 of hmask[i & 31].
  Q3_K: {
    values: 256,
    bytes: 110,
    value: (b, at, i) => {
      const low = (b[at + 32 + 32 * (i >> 7) + (i & 31)] >> (2 * ((i >> 5) & 3))) & 3;
      const high = bit(b[at + (i & 31)], i >> 5);
      return half(b, at + 108) * q3Scale(b, at + 96, i >> 4) * (low - (high ? 0 : 4));
    },
  },
  // { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }: d * scale * q - dmin * min
  Q4_K: {
    values: 256,
    bytes: 144,
    value: (b, at, i) => {
      const q = nibble(b[at + 16 + 32 * (i >> 6) + (i & 31)], (i & 32) !== 0);
      const [scale, min] = kScaleMin(b, at + 4, i >> 5);
      return half(b, at) * scale * q - half(b, at + 2) * min;
    },
  },
  // { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: as Q4_K, the fifth bit of value i
  // being bit i >> 5 of qh[i & 31].
  Q5_K: {
    values: 256,
    bytes: 176,
    value: (b, at, i) => {
      const q = nibble(b[at + 48 + 32 * (i >> 6) + (i & 31)], (i & 32) !== 0) | (bit(b[at + 16 + (i & 31)], i >> 5) << 4);
      const [scale, min] = kScaleMin(b, at + 4, i >> 5);
      return half(b, at) * scale * q - half(b, at + 2) * min;
    },
  },
  // { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }: d * scale * (q - 32)
  Q6_K: {
    values: 256,
    bytes: 210,
    value: (b, at, i) => {
      const h = i >> 7;
      const p = (i >> 5) & 3;
      const low = nibble(b[at + 64 * h + 32 * (p & 1) + (i & 31)], p >= 2);
      const top = (b[at + 128 + 32 * h + (i & 31)] >> (2 * p)) & 3;
      return half(b, at + 208) * int8(b[at + 192 + (i >> 4)]) * ((low | (top << 4)) - 32);
    },
  },
};

export const BLOCK_TYPE_NAMES = Object.keys(LAYOUTS) as readonly BlockTypeName[];

/** Byte offsets of each format's f16 fields (d, and m or dmin), for tests that make random blocks. */
export const BLOCK_F16_FIELDS: Readonly<Record<BlockTypeName, readonly number[]>> = {
  Q4_0: [0], Q4_1: [0, 2], Q5_0: [0], Q5_1: [0, 2], Q8_0: [0],
  Q2_K: [80, 82], Q3_K: [108], Q4_K: [0, 2], Q5_K: [0, 2], Q6_K: [208],
};

export function blockGeometry(type: BlockTypeName): { readonly values: number; readonly bytes: number } {
  const { values, bytes } = LAYOUTS[type];
  return { values, bytes };
}

/** The float32 values (held in float64) of `count` values of `type` read from `bytes`. */
export function decodeBlocks64(type: BlockTypeName, bytes: Uint8Array, count: number): Float64Array {
  const layout = LAYOUTS[type];
  if (count % layout.values !== 0) throw new Error(`${type}: ${count} values are not whole blocks of ${layout.values}`);
  const blocks = count / layout.values;
  if (bytes.length < blocks * layout.bytes) throw new Error(`${type}: ${count} values need ${blocks * layout.bytes} bytes, got ${bytes.length}`);
  const out = new Float64Array(count);
  for (let k = 0; k < blocks; k++) {
    const at = k * layout.bytes;
    for (let i = 0; i < layout.values; i++) out[k * layout.values + i] = Math.fround(layout.value(bytes, at, i));
  }
  return out;
}
