import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GgmlType } from './fixtures/ggml-types';
import { GGUF_TYPE_ID, GgufArray, GgufValue, gguf } from './fixtures/gguf-values';
import { GgufFileSpec, GgufLayout, encodeGguf, planGguf, writeGguf } from './fixtures/gguf-writer';
import { bf16Bits, bf16Value, f16Bits, f16Value } from './fixtures/half-floats';
import { WEIGHT_TYPE_ID, WeightType, decodeWeights, encodeWeights } from './fixtures/quantize';
import { uniformRecipe } from './fixtures/weight-recipes';
import { TokenType, qwenVocab } from './fixtures/qwen-vocab';
import { SeededRandom } from './fixtures/seeded-random';
import {
  TinyModel,
  buildTinyModel,
  fixtureMatrix,
  promptTokens,
  standardPrompt,
  tinyModelName,
  tinyModelSpec,
  writeTinyModel,
} from './fixtures/tiny-models';
import { ReferenceForward } from './reference/forward64';
import { Rope } from './reference/rope';

// ---------------------------------------------------------------------------
// A deliberately separate GGUF reader: written from the format description,
// sharing nothing with the writer, so a writer bug cannot hide behind itself.

type ReadValue = number | bigint | boolean | string | ReadArray;
interface ReadArray {
  itemType: number;
  items: ReadValue[];
}
interface ReadEntry {
  typeId: number;
  value: ReadValue;
}
interface ReadTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}
interface ReadGguf {
  version: number;
  metadata: Map<string, ReadEntry>;
  keys: string[];
  tensors: ReadTensor[];
  dataStart: number;
}

function readGguf(bytes: Buffer): ReadGguf {
  let at = 0;
  const take = (n: number): number => {
    if (at + n > bytes.length) throw new Error(`read past the end at ${at}`);
    const start = at;
    at += n;
    return start;
  };
  assert.strictEqual(bytes.toString('latin1', take(4), 4), 'GGUF');
  const version = bytes.readUInt32LE(take(4));
  const wide = version >= 2;
  const count = (): number => (wide ? Number(bytes.readBigUInt64LE(take(8))) : bytes.readUInt32LE(take(4)));
  const str = (): string => {
    const n = count();
    return bytes.toString('utf8', take(n), at);
  };
  const value = (typeId: number): ReadValue => {
    switch (typeId) {
      case 0: return bytes.readUInt8(take(1));
      case 1: return bytes.readInt8(take(1));
      case 2: return bytes.readUInt16LE(take(2));
      case 3: return bytes.readInt16LE(take(2));
      case 4: return bytes.readUInt32LE(take(4));
      case 5: return bytes.readInt32LE(take(4));
      case 6: return bytes.readFloatLE(take(4));
      case 7: {
        const b = bytes.readUInt8(take(1));
        assert.ok(b === 0 || b === 1, `bool byte ${b}`);
        return b === 1;
      }
      case 8: return str();
      case 9: {
        const itemType = bytes.readUInt32LE(take(4));
        const n = count();
        const items: ReadValue[] = [];
        for (let i = 0; i < n; i++) items.push(value(itemType));
        return { itemType, items };
      }
      case 10: return bytes.readBigUInt64LE(take(8));
      case 11: return bytes.readBigInt64LE(take(8));
      case 12: return bytes.readDoubleLE(take(8));
      default: throw new Error(`unknown value type ${typeId}`);
    }
  };
  const tensorCount = count();
  const kvCount = count();
  const metadata = new Map<string, ReadEntry>();
  const keys: string[] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const typeId = bytes.readUInt32LE(take(4));
    metadata.set(key, { typeId, value: value(typeId) });
    keys.push(key);
  }
  const tensors: ReadTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = bytes.readUInt32LE(take(4));
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(wide ? Number(bytes.readBigUInt64LE(take(8))) : bytes.readUInt32LE(take(4)));
    const type = bytes.readUInt32LE(take(4));
    const offset = Number(bytes.readBigUInt64LE(take(8)));
    tensors.push({ name, dims, type, offset });
  }
  const alignmentEntry = metadata.get('general.alignment');
  const alignment = alignmentEntry === undefined ? 32 : Number(alignmentEntry.value);
  return { version, metadata, keys, tensors, dataStart: Math.ceil(at / alignment) * alignment };
}

/** What the reader should see for a written descriptor. */
function expectedEntry(v: GgufValue): ReadEntry {
  if (v.type === 'raw') throw new Error('raw values have no expected reading');
  if (v.type === 'array') return { typeId: GGUF_TYPE_ID.array, value: expectedArray(v) };
  return { typeId: GGUF_TYPE_ID[v.type], value: expectedItem(v.type, v.value) };
}

function expectedArray(a: GgufArray): ReadArray {
  const items: ReadValue[] = [];
  const values: ArrayLike<unknown> = a.value;
  for (let i = 0; i < values.length; i++) items.push(expectedItem(a.itemType, values[i]));
  return { itemType: GGUF_TYPE_ID[a.itemType], items };
}

function expectedItem(type: string, v: unknown): ReadValue {
  if (type === 'f32') return Math.fround(v as number);
  if (type === 'u64' || type === 'i64') return BigInt(v as number | bigint);
  if (type === 'array') return expectedArray(v as GgufArray);
  return v as ReadValue;
}

function metadataWithEveryType(): Array<readonly [string, GgufValue]> {
  return [
    ['t.u8', { type: 'u8', value: 255 }],
    ['t.i8', { type: 'i8', value: -128 }],
    ['t.u16', { type: 'u16', value: 65535 }],
    ['t.i16', { type: 'i16', value: -32768 }],
    ['t.u32', { type: 'u32', value: 4294967295 }],
    ['t.i32', { type: 'i32', value: -2147483648 }],
    ['t.f32', { type: 'f32', value: 0.1 }],
    ['t.bool.true', { type: 'bool', value: true }],
    ['t.bool.false', { type: 'bool', value: false }],
    ['t.string', { type: 'string', value: 'héllo ✓ <|im_end|>' }],
    ['t.string.empty', { type: 'string', value: '' }],
    ['t.u64', { type: 'u64', value: 18446744073709551615n }],
    ['t.i64', { type: 'i64', value: -9223372036854775808n }],
    ['t.f64', { type: 'f64', value: Math.PI }],
    ['t.arr.u8', { type: 'array', itemType: 'u8', value: new Uint8Array([0, 1, 255]) }],
    ['t.arr.i16', { type: 'array', itemType: 'i16', value: [-1, 2, -3] }],
    ['t.arr.f32', { type: 'array', itemType: 'f32', value: [1.5, -0.1] }],
    ['t.arr.f64', { type: 'array', itemType: 'f64', value: [1e300, -0.1] }],
    ['t.arr.bool', { type: 'array', itemType: 'bool', value: [true, false, true] }],
    ['t.arr.string', { type: 'array', itemType: 'string', value: ['a', '', 'Ġthe'] }],
    ['t.arr.u64', { type: 'array', itemType: 'u64', value: [0n, 1, 2n ** 63n] }],
    ['t.arr.i64', { type: 'array', itemType: 'i64', value: [-1n, 5] }],
    ['t.arr.empty', { type: 'array', itemType: 'u32', value: [] }],
    [
      't.arr.nested',
      {
        type: 'array',
        itemType: 'array',
        value: [
          { type: 'array', itemType: 'string', value: ['x', 'y'] },
          { type: 'array', itemType: 'array', value: [{ type: 'array', itemType: 'i32', value: [-7] }] },
          { type: 'array', itemType: 'u8', value: [] },
        ],
      },
    ],
  ];
}

function patternBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + 1) & 0xff;
  return b;
}

function sampleTensorSpec(version: 1 | 2 | 3, alignment?: number): GgufFileSpec {
  const metadata: Array<readonly [string, GgufValue]> = [['general.architecture', gguf.string('llama')]];
  if (alignment !== undefined) metadata.push(['general.alignment', gguf.u32(alignment)]);
  return {
    version,
    metadata,
    tensors: [
      { name: 'a', ggmlType: GgmlType.F32, dims: [3], data: patternBytes(12, 1) },
      { name: 'b.weight', ggmlType: GgmlType.Q8_0, dims: [64, 3], data: patternBytes(6 * 34, 2) },
      { name: 'c', ggmlType: GgmlType.F16, dims: [5, 1, 2], data: patternBytes(20, 3) },
    ],
  };
}

function checkTensorsAt(bytes: Buffer, layout: GgufLayout, spec: GgufFileSpec): void {
  const read = readGguf(bytes);
  assert.strictEqual(read.dataStart, layout.dataStart);
  assert.strictEqual(layout.dataStart % layout.alignment, 0);
  assert.strictEqual(bytes.length, layout.fileSize);
  assert.strictEqual(bytes.length % layout.alignment, 0, 'the last tensor is padded too');
  const tensors = spec.tensors ?? [];
  tensors.forEach((t, i) => {
    const r = read.tensors[i];
    const l = layout.tensors[i];
    assert.deepStrictEqual({ name: r.name, dims: r.dims, type: r.type }, { name: t.name, dims: [...t.dims], type: t.ggmlType });
    assert.strictEqual(r.offset, l.relativeOffset);
    assert.strictEqual(r.offset % layout.alignment, 0);
    assert.strictEqual(l.dataOffset, layout.dataStart + r.offset);
    const data = t.data as Uint8Array;
    assert.ok(bytes.subarray(l.dataOffset, l.dataOffset + data.length).equals(data), `${t.name} bytes`);
    const end = i + 1 < tensors.length ? layout.tensors[i + 1].dataOffset : layout.fileSize;
    assert.ok(bytes.subarray(l.dataOffset + data.length, end).every((b) => b === 0), `${t.name} padding is zeros`);
    assert.strictEqual(bytes.readUInt32LE(l.typeOffset), t.ggmlType);
    assert.strictEqual(Number(bytes.readBigUInt64LE(l.offsetFieldOffset)), l.relativeOffset);
    assert.strictEqual(bytes.readUInt32LE(l.nDimsOffset), t.dims.length);
  });
  assert.strictEqual(layout.tensorInfoOffset, layout.tensors[0].infoOffset);
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-fixtures-'));
}

// ---------------------------------------------------------------------------

describe('fixtures', () => {
  describe('half floats', () => {
    it('encodes known f16 values, round to nearest even', () => {
      const cases: Array<[number, number]> = [
        [1, 0x3c00],
        [-2, 0xc000],
        [0.1, 0x2e66],
        [1 / 3, 0x3555],
        [65504, 0x7bff],
        [65519.99, 0x7bff],
        [65520, 0x7c00], // halfway to the next (absent) step: ties to even = infinity
        [1e6, 0x7c00],
        [-Infinity, 0xfc00],
        [2 ** -14, 0x0400], // smallest normal
        [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
        [2 ** -24, 0x0001], // smallest subnormal
        [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
        [1.5 * 2 ** -24, 0x0002], // tie between 1 and 2 units: even is 2
        [2 ** -26, 0x0000],
        [1 + 2 ** -11, 0x3c00], // tie: down to even
        [1 + 3 * 2 ** -11, 0x3c02], // tie: up to even
        [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
        [-0, 0x8000],
      ];
      for (const [x, bits] of cases) assert.strictEqual(f16Bits(x), bits, `f16(${x})`);
      const nan = f16Bits(NaN);
      assert.strictEqual(nan & 0x7c00, 0x7c00);
      assert.notStrictEqual(nan & 0x3ff, 0);
    });

    it('decodes f16 and every finite half survives a round trip', () => {
      assert.strictEqual(f16Value(0x3c00), 1);
      assert.strictEqual(f16Value(0x7bff), 65504);
      assert.strictEqual(f16Value(0x0001), 2 ** -24);
      assert.ok(Object.is(f16Value(0x8000), -0));
      assert.strictEqual(f16Value(0xfc00), -Infinity);
      assert.ok(Number.isNaN(f16Value(0x7e00)));
      for (let bits = 0; bits < 0x10000; bits++) {
        if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) continue;
        assert.strictEqual(f16Bits(f16Value(bits)), bits, `bits 0x${bits.toString(16)}`);
      }
    });

    it('encodes known bf16 values, round to nearest even, and round-trips every finite one', () => {
      const cases: Array<[number, number]> = [
        [1, 0x3f80],
        [-1.5, 0xbfc0],
        [1 + 2 ** -8, 0x3f80], // tie: down to even
        [1 + 3 * 2 ** -8, 0x3f82], // tie: up to even
        [1 + 2 ** -8 + 2 ** -20, 0x3f81],
        [3.4028234663852886e38, 0x7f80], // f32 max rounds to infinity
        [2 ** -130, 0x0008], // subnormal f32 (bits 0x00080000) kept, not flushed
      ];
      for (const [x, bits] of cases) assert.strictEqual(bf16Bits(x), bits, `bf16(${x})`);
      assert.ok(Number.isNaN(bf16Value(bf16Bits(NaN))));
      for (let bits = 0; bits < 0x10000; bits++) {
        if ((bits & 0x7f80) === 0x7f80 && (bits & 0x7f) !== 0) continue;
        assert.strictEqual(bf16Bits(bf16Value(bits)), bits, `bits 0x${bits.toString(16)}`);
      }
    });
  });

  describe('weight encodings', () => {
    const random = new SeededRandom(42);
    const values = random.normals(32 * 64, 0.7);
    values[5] = 1e-7; // a subnormal f16 inside an otherwise normal block

    it('F32 stores float32 values exactly', () => {
      const decoded = decodeWeights('F32', encodeWeights('F32', values), values.length);
      values.forEach((v, i) => assert.strictEqual(decoded[i], Math.fround(v)));
    });

    it('F16 and BF16 stay within half an ulp', () => {
      for (const [type, unit] of [['F16', 2 ** -11], ['BF16', 2 ** -8]] as const) {
        const decoded = decodeWeights(type, encodeWeights(type, values), values.length);
        values.forEach((v, i) => {
          const bound = type === 'F16' ? Math.max(Math.abs(v) * unit, 2 ** -25) : Math.abs(v) * unit;
          assert.ok(Math.abs(decoded[i] - v) <= bound, `${type}[${i}]: ${v} -> ${decoded[i]}`);
        });
      }
    });

    it('Q8_0 stays within half a step per block', () => {
      const bytes = encodeWeights('Q8_0', values);
      assert.strictEqual(bytes.length, (values.length / 32) * 34);
      const decoded = decodeWeights('Q8_0', bytes, values.length);
      for (let b = 0; b < values.length / 32; b++) {
        const block = values.subarray(b * 32, b * 32 + 32);
        const d = Math.max(...Array.from(block, Math.abs)) / 127;
        // Rounding to the float32 step d, plus the f16 rounding of d applied to up to 127 steps.
        const bound = d / 2 + 127 * d * 2 ** -11 + 1e-12;
        block.forEach((v, j) => assert.ok(Math.abs(decoded[b * 32 + j] - v) <= bound, `block ${b}[${j}]`));
      }
    });

    it('re-encoding decoded values gives the same bytes (the decoded values are what the file means)', () => {
      for (const type of ['F32', 'F16', 'BF16', 'Q8_0'] as const) {
        const bytes = encodeWeights(type, values);
        assert.ok(encodeWeights(type, decodeWeights(type, bytes, values.length)).equals(bytes), type);
      }
    });

    it('Q8_0 encodes a known block like ggml', () => {
      const block = new Float64Array(32);
      block.set([127, -127, 0.5, -0.5, 1.5, -2.5, 0, 3.49, 100.5]);
      const bytes = encodeWeights('Q8_0', block);
      assert.strictEqual(bytes.readUInt16LE(0), 0x3c00, 'd = 127 / 127 = 1');
      // roundf: halves go away from zero.
      assert.deepStrictEqual(Array.from(new Int8Array(bytes.buffer, bytes.byteOffset + 2, 9)), [127, -127, 1, -1, 2, -3, 0, 3, 101]);
      assert.deepStrictEqual(Array.from(decodeWeights('Q8_0', bytes, 32).subarray(0, 9)), [127, -127, 1, -1, 2, -3, 0, 3, 101]);

      const doubled = encodeWeights('Q8_0', block.map((x) => 2 * x));
      assert.strictEqual(doubled.readUInt16LE(0), 0x4000, 'd = 2');

      const zeros = encodeWeights('Q8_0', new Float64Array(32));
      assert.ok(zeros.every((b) => b === 0), 'an all-zero block has d = 0 and q = 0');

      // amax 1: q is computed with the float32 d, the file stores d rounded to f16.
      const unit = new Float64Array(32).fill(1);
      const unitBytes = encodeWeights('Q8_0', unit);
      assert.strictEqual(unitBytes.readUInt16LE(0), f16Bits(1 / 127));
      assert.strictEqual(unitBytes.readInt8(2), 127);
      assert.strictEqual(decodeWeights('Q8_0', unitBytes, 32)[0], f16Value(f16Bits(1 / 127)) * 127);

      assert.throws(() => encodeWeights('Q8_0', new Float64Array(48)), /multiple of 32/);
    });
  });

  describe('gguf writer', () => {
    let dir: string;
    before(() => {
      dir = makeTempDir();
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const version of [1, 2, 3] as const) {
      it(`writes every metadata type, nested arrays included, in version ${version}`, () => {
        const metadata = metadataWithEveryType();
        const { bytes, layout } = encodeGguf({ version, metadata });
        const read = readGguf(bytes);
        assert.strictEqual(read.version, version);
        assert.deepStrictEqual(read.keys, metadata.map(([k]) => k));
        for (const [key, value] of metadata) assert.deepStrictEqual(read.metadata.get(key), expectedEntry(value), key);

        const countWidth = version === 1 ? 4 : 8;
        assert.strictEqual(layout.metadataCountOffset, 8 + countWidth);
        const kvCount = version === 1 ? bytes.readUInt32LE(12) : Number(bytes.readBigUInt64LE(16));
        assert.strictEqual(kvCount, metadata.length);
        // A key's length field has the version's width, then the key, then the u32 type id.
        layout.metadata.forEach((m, i) => {
          const keyBytes = Buffer.byteLength(metadata[i][0]);
          const length = version === 1 ? bytes.readUInt32LE(m.offset) : Number(bytes.readBigUInt64LE(m.offset));
          assert.strictEqual(length, keyBytes);
          assert.strictEqual(m.valueTypeOffset, m.offset + countWidth + keyBytes);
          assert.strictEqual(m.valueOffset, m.valueTypeOffset + 4);
        });
      });

      it(`places tensors at aligned offsets in version ${version}`, () => {
        for (const alignment of [undefined, 64, 7]) {
          const spec = sampleTensorSpec(version, alignment);
          const { bytes, layout } = encodeGguf(spec);
          assert.strictEqual(layout.alignment, alignment ?? 32);
          checkTensorsAt(bytes, layout, spec);
          const dimWidth = version === 1 ? 4 : 8;
          assert.strictEqual(layout.tensors[2].typeOffset, layout.tensors[2].dimsOffset + 3 * dimWidth);
        }
      });
    }

    it('writes the same file to disk in pieces, from lazy producers, and plans it without data', () => {
      const spec = sampleTensorSpec(3, 64);
      const inMemory = encodeGguf(spec);
      const lazy: GgufFileSpec = {
        ...spec,
        tensors: (spec.tensors ?? []).map((t) => {
          const data = t.data as Uint8Array;
          return { ...t, data: () => [data.subarray(0, 5), data.subarray(5)] };
        }),
      };
      const file = path.join(dir, 'lazy.gguf');
      const layout = writeGguf(file, lazy);
      assert.ok(fs.readFileSync(file).equals(inMemory.bytes));
      assert.deepStrictEqual(layout, inMemory.layout);
      assert.deepStrictEqual(planGguf(lazy), inMemory.layout);
    });

    it('refuses a producer that does not deliver its size, leaving no file', () => {
      const file = path.join(dir, 'short.gguf');
      const spec: GgufFileSpec = {
        metadata: [],
        tensors: [{ name: 'x', ggmlType: GgmlType.F32, dims: [4], data: () => Buffer.alloc(12) }],
      };
      assert.throws(() => writeGguf(file, spec), /produced 12 bytes, its layout reserved 16/);
      assert.ok(!fs.existsSync(file));
    });

    it('writes malformed values on request: raw type ids, unknown tensor types, out-of-range numbers refused', () => {
      const { bytes, layout } = encodeGguf({
        metadata: [['bad', { type: 'raw', typeId: 13, bytes: Buffer.from([1, 2, 3]) }]],
        tensors: [{ name: 't', ggmlType: 99, dims: [2], data: Buffer.from([9, 9]) }],
      });
      assert.strictEqual(bytes.readUInt32LE(layout.metadata[0].valueTypeOffset), 13);
      assert.deepStrictEqual([...bytes.subarray(layout.metadata[0].valueOffset, layout.metadata[0].valueOffset + 3)], [1, 2, 3]);
      assert.strictEqual(bytes.readUInt32LE(layout.tensors[0].typeOffset), 99);
      assert.deepStrictEqual([...bytes.subarray(layout.tensors[0].dataOffset, layout.tensors[0].dataOffset + 2)], [9, 9]);
      assert.throws(() => encodeGguf({ metadata: [['x', { type: 'u8', value: 256 }]] }), /out of range/);
      assert.throws(() => encodeGguf({ metadata: [['x', { type: 'i32', value: 1.5 }]] }), /out of range/);
    });
  });

  describe('qwen vocabulary', () => {
    it('has the tokens, types and special ids llama.cpp writes for Qwen', () => {
      const vocab = qwenVocab();
      assert.strictEqual(vocab, qwenVocab(), 'parsed once');
      assert.strictEqual(vocab.tokens.length, 151669);
      assert.strictEqual(vocab.normalTokenCount, 151643);
      assert.strictEqual(vocab.tokens[151643], '<|endoftext|>');
      assert.strictEqual(vocab.bosTokenId, 151643);
      assert.strictEqual(vocab.paddingTokenId, 151643);
      assert.strictEqual(vocab.tokens[vocab.eosTokenId], '<|im_end|>');
      assert.strictEqual(vocab.idOf.get('<|im_start|>'), 151644);
      assert.strictEqual(vocab.tokenTypes[0], TokenType.NORMAL);
      assert.strictEqual(vocab.tokenTypes[151642], TokenType.NORMAL);
      assert.strictEqual(vocab.tokenTypes[151643], TokenType.CONTROL);
      assert.strictEqual(vocab.tokenTypes[vocab.idOf.get('<|fim_prefix|>') ?? -1], TokenType.CONTROL);
      assert.strictEqual(vocab.tokenTypes[vocab.idOf.get('<think>') ?? -1], TokenType.USER_DEFINED);
      assert.strictEqual(vocab.merges.length, 151387);
      assert.strictEqual(vocab.merges[0], 'Ġ Ġ');
      for (const merge of vocab.merges.slice(0, 1000)) assert.strictEqual(merge.split(' ').length, 2, merge);
      assert.ok(vocab.chatTemplate.includes('<|im_start|>'));
    });
  });

  describe('tiny models', () => {
    let dir: string;
    before(() => {
      dir = makeTempDir();
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('lists 16 distinct fixtures: both archs, four weight types, tied and untied', () => {
      const names = fixtureMatrix().map(tinyModelName);
      assert.strictEqual(new Set(names).size, 16);
      assert.strictEqual(fixtureMatrix(), fixtureMatrix());
      assert.strictEqual(tinyModelSpec({ arch: 'qwen2' }).ropeBase, 1_000_000);
      assert.strictEqual(tinyModelSpec().ropeBase, 10_000);
    });

    const cases: Array<{ arch: 'llama' | 'qwen2'; weightType: WeightType; tied: boolean; alignment?: number }> = [
      { arch: 'llama', weightType: 'Q8_0', tied: true },
      { arch: 'qwen2', weightType: 'BF16', tied: false, alignment: 64 },
    ];
    for (const c of cases) {
      it(`writes a ${c.arch} ${c.weightType} ${c.tied ? 'tied' : 'untied'} GGUF that reads back as its weights`, () => {
        const written = writeTinyModel(tinyModelSpec(c), dir);
        const bytes = fs.readFileSync(written.path);
        const read = readGguf(bytes);
        const { config } = written;
        const a = c.arch;
        const meta = (key: string): ReadValue | undefined => read.metadata.get(key)?.value;
        assert.strictEqual(meta('general.architecture'), a);
        assert.strictEqual(meta(`${a}.embedding_length`), 64);
        assert.strictEqual(meta(`${a}.block_count`), 2);
        assert.strictEqual(meta(`${a}.feed_forward_length`), 128);
        assert.strictEqual(meta(`${a}.attention.head_count`), 4);
        assert.strictEqual(meta(`${a}.attention.head_count_kv`), 2);
        assert.strictEqual(meta(`${a}.context_length`), 4096);
        assert.strictEqual(read.metadata.get(`${a}.attention.layer_norm_rms_epsilon`)?.typeId, GGUF_TYPE_ID.f32);
        assert.strictEqual(meta(`${a}.attention.layer_norm_rms_epsilon`), Math.fround(1e-6));
        assert.strictEqual(meta(`${a}.rope.freq_base`), a === 'qwen2' ? 1e6 : 1e4);
        assert.strictEqual(meta('general.file_type'), uniformRecipe(c.weightType).fileType);
        assert.strictEqual(meta('general.alignment'), c.alignment);
        assert.strictEqual(meta('tokenizer.ggml.model'), 'gpt2');
        assert.strictEqual(meta('tokenizer.ggml.pre'), 'qwen2');
        assert.strictEqual(meta('tokenizer.ggml.add_bos_token'), false);
        const tokens = meta('tokenizer.ggml.tokens') as ReadArray;
        assert.strictEqual(tokens.items.length, config.vocab);
        assert.strictEqual((meta('tokenizer.ggml.token_type') as ReadArray).itemType, GGUF_TYPE_ID.i32);

        const hd = config.headDim;
        const expectedDims = new Map<string, number[]>([
          ['token_embd.weight', [64, config.vocab]],
          ['output_norm.weight', [64]],
          ['blk.1.attn_q.weight', [64, 4 * hd]],
          ['blk.1.attn_k.weight', [64, 2 * hd]],
          ['blk.1.attn_output.weight', [4 * hd, 64]],
          ['blk.0.ffn_down.weight', [128, 64]],
          ['blk.0.ffn_gate.weight', [64, 128]],
        ]);
        if (!c.tied) expectedDims.set('output.weight', [64, config.vocab]);
        if (a === 'qwen2') expectedDims.set('blk.0.attn_k.bias', [2 * hd]);
        const byName = new Map(read.tensors.map((t) => [t.name, t]));
        for (const [name, dims] of expectedDims) assert.deepStrictEqual(byName.get(name)?.dims, dims, name);
        assert.strictEqual(byName.has('output.weight'), !c.tied);
        assert.strictEqual(byName.has('blk.0.attn_q.bias'), a === 'qwen2');
        assert.strictEqual(read.tensors.length, written.weights.size);
        assert.strictEqual(read.tensors.length, 1 + 2 * (a === 'qwen2' ? 12 : 9) + 1 + (c.tied ? 0 : 1));

        for (const t of read.tensors) {
          const type: WeightType = t.dims.length === 1 ? 'F32' : c.weightType;
          assert.strictEqual(t.type, WEIGHT_TYPE_ID[type], t.name);
          const count = t.dims.reduce((x, y) => x * y, 1);
          const decoded = decodeWeights(type, bytes.subarray(read.dataStart + t.offset), count);
          assert.deepStrictEqual(decoded, written.weights.get(t.name), t.name);
        }
      });
    }

    it('gives deterministic prompts of ordinary tokens', () => {
      const prompt = standardPrompt();
      assert.deepStrictEqual(prompt, standardPrompt());
      assert.strictEqual(prompt.length, 64);
      assert.ok(prompt.every((t) => Number.isInteger(t) && t >= 0 && t < qwenVocab().normalTokenCount));
      assert.notDeepStrictEqual(promptTokens(64, 8), prompt);
    });
  });

  describe('reference forward', () => {
    let qwen: TinyModel;
    let llama: TinyModel;
    const prompt = promptTokens(12);
    before(() => {
      qwen = buildTinyModel(tinyModelSpec({ arch: 'qwen2' }));
      llama = buildTinyModel(tinyModelSpec({ arch: 'llama', weightType: 'F16', tied: true }));
    });

    it('RoPE preserves norms and makes q.k depend on the relative position only', () => {
      for (const layout of ['adjacent', 'halves'] as const) {
        const rope = new Rope(8, 10000, layout);
        const random = new SeededRandom(3);
        const q = random.normals(8, 1);
        const k = random.normals(8, 1);
        const dotAt = (pq: number, pk: number): number => {
          const rq = q.slice();
          const rk = k.slice();
          rope.apply(rq, 1, pq);
          rope.apply(rk, 1, pk);
          return rq.reduce((s, x, i) => s + x * rk[i], 0);
        };
        assert.ok(Math.abs(dotAt(7, 3) - dotAt(107, 103)) < 1e-10, layout);
        assert.ok(Math.abs(dotAt(7, 3) - dotAt(7, 4)) > 1e-3, `${layout}: position matters`);
        const rotated = q.slice();
        rope.apply(rotated, 1, 12345);
        const norm = (v: Float64Array): number => Math.hypot(...v);
        assert.ok(Math.abs(norm(rotated) - norm(q)) < 1e-12);
      }
    });

    it('computes position 0 as the closed form: attention returns v there', () => {
      // One layer of the qwen model, by hand: at position 0 softmax has one entry, RoPE is the identity.
      const { config, weights } = qwen;
      const w = (name: string): Float64Array => weights.get(name) as Float64Array;
      const mv = (m: Float64Array, x: Float64Array, rows: number): Float64Array =>
        Float64Array.from({ length: rows }, (_, r) => x.reduce((s, xi, c) => s + m[r * x.length + c] * xi, 0));
      const norm = (x: Float64Array, g: Float64Array): Float64Array => {
        const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + config.rmsEps);
        return x.map((v, i) => (v / rms) * g[i]);
      };
      const token = prompt[0];
      let x = w('token_embd.weight').slice(token * 64, token * 64 + 64);
      for (let l = 0; l < config.layers; l++) {
        const h = norm(x, w(`blk.${l}.attn_norm.weight`));
        const v = mv(w(`blk.${l}.attn_v.weight`), h, 32).map((y, i) => y + w(`blk.${l}.attn_v.bias`)[i]);
        // Query heads 0,1 read kv head 0; heads 2,3 read kv head 1.
        const attn = Float64Array.from({ length: 64 }, (_, i) => v[Math.floor(i / 32) * 16 + (i % 16)]);
        x = x.map((xi, i) => xi + mv(w(`blk.${l}.attn_output.weight`), attn, 64)[i]);
        const f = norm(x, w(`blk.${l}.ffn_norm.weight`));
        const gate = mv(w(`blk.${l}.ffn_gate.weight`), f, 128);
        const up = mv(w(`blk.${l}.ffn_up.weight`), f, 128);
        const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
        const down = mv(w(`blk.${l}.ffn_down.weight`), act, 64);
        x = x.map((xi, i) => xi + down[i]);
      }
      const final = norm(x, w('output_norm.weight'));
      const out = w('output.weight');
      const reference = new ReferenceForward(config, weights).forward([token]);
      for (const id of [0, 1, 1000, 151642, 151668]) {
        const expected = final.reduce((s, xi, c) => s + out[id * 64 + c] * xi, 0);
        assert.ok(Math.abs(reference[id] - expected) < 1e-12, `logit ${id}`);
      }
    });

    it('continues with decode steps exactly where a longer prefill would be', () => {
      for (const model of [qwen, llama]) {
        const full = new ReferenceForward(model.config, model.weights);
        const all: Float64Array[] = [];
        full.forward(prompt, (pos, logits) => {
          assert.strictEqual(pos, all.length);
          all.push(logits);
        });
        assert.strictEqual(all.length, prompt.length);

        const split = new ReferenceForward(model.config, model.weights);
        const prefix = 8;
        assert.ok(maxAbsDiff(split.forward(prompt.slice(0, prefix)), all[prefix - 1]) <= 1e-12);
        for (let pos = prefix; pos < prompt.length; pos++) {
          assert.strictEqual(split.position, pos);
          assert.ok(maxAbsDiff(split.step(prompt[pos]), all[pos]) <= 1e-12, `position ${pos}`);
        }
        // The logits are not degenerate: a spread of a few units, and they change with the context.
        const last = all[all.length - 1];
        const mean = last.reduce((s, v) => s + v, 0) / last.length;
        const std = Math.sqrt(last.reduce((s, v) => s + (v - mean) ** 2, 0) / last.length);
        assert.ok(std > 0.5 && std < 10, `logit std ${std}`);
        assert.ok(maxAbsDiff(all[prompt.length - 1], all[prompt.length - 2]) > 0.1);
      }
    });

    it('gives noticeably different logits with the wrong RoPE layout, except at position 0', () => {
      for (const [model, wrong] of [[qwen, 'adjacent'], [llama, 'halves']] as const) {
        const right = new ReferenceForward(model.config, model.weights);
        const mixedUp = new ReferenceForward(model.config, model.weights, { ropeLayout: wrong });
        assert.notStrictEqual(right.ropeLayout, mixedUp.ropeLayout);
        assert.ok(maxAbsDiff(right.forward(prompt.slice(0, 1)), mixedUp.forward(prompt.slice(0, 1))) < 1e-12);
        const diff = maxAbsDiff(right.forward(prompt.slice(1)), mixedUp.forward(prompt.slice(1)));
        assert.ok(diff > 0.1, `${model.config.arch}: wrong layout moved logits by only ${diff}`);
      }
    });

    it('treats grouped-query attention as multi-head attention with repeated kv heads', () => {
      // Repeat each kv head for the query heads that share it: with kvHeads = heads the result must not change.
      const { config, weights } = qwen;
      const group = config.heads / config.kvHeads;
      const hd = config.headDim;
      const repeatHeads = (values: Float64Array, rowLength: number): Float64Array => {
        const out = new Float64Array(values.length * group);
        for (let h = 0; h < config.heads; h++) {
          const src = Math.floor(h / group) * hd * rowLength;
          out.set(values.subarray(src, src + hd * rowLength), h * hd * rowLength);
        }
        return out;
      };
      const mha = new Map(weights);
      for (let l = 0; l < config.layers; l++) {
        for (const part of ['k', 'v']) {
          mha.set(`blk.${l}.attn_${part}.weight`, repeatHeads(weights.get(`blk.${l}.attn_${part}.weight`) as Float64Array, config.hidden));
          mha.set(`blk.${l}.attn_${part}.bias`, repeatHeads(weights.get(`blk.${l}.attn_${part}.bias`) as Float64Array, 1));
        }
      }
      const gqa = new ReferenceForward(config, weights).forward(prompt);
      const mhaForward = new ReferenceForward({ ...config, kvHeads: config.heads }, mha);
      assert.ok(maxAbsDiff(mhaForward.forward(prompt), gqa) < 1e-12);
      assert.strictEqual(mhaForward.cacheHead(1, 3).positions.length, prompt.length);
    });

    it('exposes queries and cache heads, and decodes from a compacted cache', () => {
      const queries: Array<[number, number, number]> = [];
      const forward = new ReferenceForward(qwen.config, qwen.weights, {
        onQueries: (layer, position, q) => queries.push([layer, position, q.length]),
      });
      const before = forward.forward(prompt);
      assert.deepStrictEqual(queries.slice(0, 3), [[0, 0, 64], [1, 0, 64], [0, 1, 64]]);
      assert.strictEqual(queries.length, prompt.length * qwen.config.layers);
      const head = forward.cacheHead(0, 1);
      assert.strictEqual(head.keys.length, prompt.length * qwen.config.headDim);
      assert.deepStrictEqual(head.positions, prompt.map((_, i) => i));

      const next = prompt[3];
      const reference = new ReferenceForward(qwen.config, qwen.weights);
      reference.forward(prompt);
      forward.compact(() => prompt.map((_, i) => i));
      assert.ok(maxAbsDiff(forward.step(next), reference.step(next)) === 0, 'keeping everything changes nothing');

      const kept = [0, 2, 5, 11, 12];
      forward.compact((layer, kvHead) => (layer === 0 && kvHead === 0 ? kept : kept.slice(1)));
      assert.deepStrictEqual(forward.cacheHead(0, 0).positions, kept);
      assert.deepStrictEqual(forward.cacheHead(1, 1).positions, kept.slice(1));
      assert.strictEqual(forward.position, prompt.length + 1);
      assert.ok(maxAbsDiff(forward.step(next), reference.step(next)) > 1e-3, 'dropping entries changes the logits');
      assert.ok(before.length === qwen.config.vocab);
      assert.throws(() => forward.compact(() => [99]), /only 0 are in the cache/);
    });
  });
});
