// The GGUF loader (native/src/gguf, native/src/model) against valid and broken
// files: versions 1 to 3, every metadata value type, general.alignment, and
// every size and offset checked against the file. A broken file must reject
// with an EngineError whose code says what kind of problem it is and whose
// message names the file and the problem; it must never crash the process,
// hang, or allocate what a lying count asks for.
//
// The models here are built directly with the GGUF writer: a llama with a
// 64-token vocabulary and hidden 32, so every file is a few tens of kilobytes
// and hundreds of them load in a few seconds.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Engine, EngineError, EngineErrorCode, Model } from '../server/src/engine';
import { ENGINE_ERROR_CODES } from '../server/src/protocol';
import { GgmlType } from './fixtures/ggml-types';
import { GgufArray, GgufValue, gguf } from './fixtures/gguf-values';
import { GgufFileSpec, GgufLayout, GgufTensorSpec, GgufVersion, encodeGguf } from './fixtures/gguf-writer';
import { SeededRandom, deriveSeed } from './fixtures/seeded-random';
import { useTempDir } from './helpers/temp-dir';

// ---------------------------------------------------------------- the model

interface MiniOptions {
  /** Written as general.architecture; the hyperparameter keys always use the llama prefix. */
  readonly arch?: string;
  readonly hidden?: number;
  readonly layers?: number;
  readonly heads?: number;
  readonly kvHeads?: number;
  readonly ffn?: number;
  readonly vocab?: number;
  readonly seed?: number;
}

interface MiniModel {
  readonly metadata: Array<readonly [string, GgufValue]>;
  readonly tensors: GgufTensorSpec[];
}

const VOCAB = 64;

function f32Tensor(seed: number, name: string, dims: number[], std: number, mean = 0): GgufTensorSpec {
  const count = dims.reduce((a, b) => a * b, 1);
  const values = new SeededRandom(deriveSeed(seed, name)).normals(count, std, mean);
  const floats = Float32Array.from(values);
  return { name, ggmlType: GgmlType.F32, dims, data: Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength) };
}

/** A complete llama model (untied output) with a small vocabulary and F32 weights. */
function miniModel(options: MiniOptions = {}): MiniModel {
  const hidden = options.hidden ?? 32;
  const layers = options.layers ?? 1;
  const heads = options.heads ?? 4;
  const kvHeads = options.kvHeads ?? 2;
  const ffn = options.ffn ?? 64;
  const vocab = options.vocab ?? VOCAB;
  const seed = options.seed ?? 11;
  const headDim = hidden / heads;
  const tokens = Array.from({ length: vocab }, (_, i) => `tok${i}`);
  const metadata: Array<readonly [string, GgufValue]> = [
    ['general.architecture', gguf.string(options.arch ?? 'llama')],
    ['general.name', gguf.string('mini llama')],
    ['llama.context_length', gguf.u32(256)],
    ['llama.embedding_length', gguf.u32(hidden)],
    ['llama.block_count', gguf.u32(layers)],
    ['llama.feed_forward_length', gguf.u32(ffn)],
    ['llama.attention.head_count', gguf.u32(heads)],
    ['llama.attention.head_count_kv', gguf.u32(kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(1e-5)],
    ['llama.rope.freq_base', gguf.f32(10000)],
    ['general.file_type', gguf.u32(0)],
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.scores', gguf.f32s(tokens.map((_, i) => -i))],
    ['tokenizer.ggml.token_type', gguf.i32s(tokens.map(() => 1))],
  ];
  const s = 1 / Math.sqrt(hidden);
  const tensors: GgufTensorSpec[] = [f32Tensor(seed, 'token_embd.weight', [hidden, vocab], 2 * s)];
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`;
    tensors.push(
      f32Tensor(seed, p + 'attn_norm.weight', [hidden], 0.1, 1),
      f32Tensor(seed, p + 'attn_q.weight', [hidden, heads * headDim], 1.5 * s),
      f32Tensor(seed, p + 'attn_k.weight', [hidden, kvHeads * headDim], 1.5 * s),
      f32Tensor(seed, p + 'attn_v.weight', [hidden, kvHeads * headDim], s),
      f32Tensor(seed, p + 'attn_output.weight', [heads * headDim, hidden], s),
      f32Tensor(seed, p + 'ffn_norm.weight', [hidden], 0.1, 1),
      f32Tensor(seed, p + 'ffn_gate.weight', [hidden, ffn], s),
      f32Tensor(seed, p + 'ffn_up.weight', [hidden, ffn], s),
      f32Tensor(seed, p + 'ffn_down.weight', [ffn, hidden], 1 / Math.sqrt(ffn)),
    );
  }
  tensors.push(f32Tensor(seed, 'output_norm.weight', [hidden], 0.1, 1));
  tensors.push(f32Tensor(seed, 'output.weight', [hidden, vocab], 2 * s));
  return { metadata, tensors };
}

function setMeta(model: MiniModel, key: string, value: GgufValue): MiniModel {
  const metadata = model.metadata.map(([k, v]) => [k, k === key ? value : v] as const);
  if (!metadata.some(([k]) => k === key)) metadata.push([key, value]);
  return { ...model, metadata };
}

function withoutMeta(model: MiniModel, key: string): MiniModel {
  return { ...model, metadata: model.metadata.filter(([k]) => k !== key) };
}

function replaceTensor(model: MiniModel, name: string, tensor: GgufTensorSpec | undefined): MiniModel {
  const tensors: GgufTensorSpec[] = [];
  for (const t of model.tensors) {
    if (t.name !== name) tensors.push(t);
    else if (tensor) tensors.push(tensor);
  }
  return { ...model, tensors };
}

function spec(model: MiniModel, version: GgufVersion = 3, alignment?: number): GgufFileSpec {
  return { version, metadata: model.metadata, tensors: model.tensors, alignment };
}

// ---------------------------------------------------------------- bytes

function patchU32(bytes: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt32LE(value, offset);
  return copy;
}

function patchU64(bytes: Buffer, offset: number, value: bigint): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeBigUInt64LE(BigInt.asUintN(64, value), offset);
  return copy;
}

/** A raw metadata value: a type id and its bytes verbatim. */
function raw(typeId: number, ...parts: Array<Buffer | number[]>): GgufValue {
  return { type: 'raw', typeId, bytes: Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)))) };
}

function u32Bytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64Bytes(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
}

function metaLayout(layout: GgufLayout, key: string) {
  const found = layout.metadata.find((m) => m.key === key);
  if (!found) throw new Error(`no metadata ${key} in the layout`);
  return found;
}

function tensorLayout(layout: GgufLayout, name: string) {
  const found = layout.tensors.find((t) => t.name === name);
  if (!found) throw new Error(`no tensor ${name} in the layout`);
  return found;
}

// ---------------------------------------------------------------- loading

const LOAD = { backend: 'cpu' as const, threads: 1, kvType: 'f32' as const };
const CODES: readonly string[] = ENGINE_ERROR_CODES;

async function loadError(file: string): Promise<EngineError> {
  let model: Model;
  try {
    model = await Engine.load(file, LOAD);
  } catch (error) {
    assert.ok(error instanceof EngineError, `expected an EngineError, got ${String(error)}`);
    return error;
  }
  const info = `${model.info.architecture}, ${model.info.layers} layers`;
  model.dispose();
  assert.fail(`'${file}' loaded (${info}) but should have been rejected`);
}

/** Loads `file`, expects a rejection with `code` whose message names the file and matches every phrase. */
async function expectLoadError(
  file: string,
  code: EngineErrorCode,
  ...phrases: RegExp[]
): Promise<EngineError> {
  const error = await loadError(file);
  assert.strictEqual(error.code, code, `code of: ${error.message}`);
  assert.strictEqual(error.message.split(file).length - 1, 1, `message should name the file '${file}' once: ${error.message}`);
  for (const phrase of phrases) assert.match(error.message, phrase);
  return error;
}

async function withModel<T>(file: string, use: (model: Model) => Promise<T> | T): Promise<T> {
  const model = await Engine.load(file, LOAD);
  try {
    return await use(model);
  } finally {
    model.dispose();
  }
}

async function logitsOf(file: string): Promise<Float32Array> {
  return withModel(file, async (model) => {
    const prefix = await model.prefill([1, 2, 3]);
    try {
      assert.ok(prefix.logits, 'prefill returned no logits');
      return Float32Array.from(prefix.logits);
    } finally {
      prefix.dispose();
    }
  });
}

function assertSameFloats(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: logit ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------- tests

describe('GGUF loader', function () {
  this.timeout(60_000);
  const dir = useTempDir('gguf-loader');
  let serial = 0;
  /** Writes bytes (or a spec) to a new file in the temp dir. */
  const put = (name: string, content: Buffer | GgufFileSpec): { file: string; layout?: GgufLayout; bytes: Buffer } => {
    const file = path.join(dir(), `${String(serial++).padStart(4, '0')}-${name}.gguf`);
    if (Buffer.isBuffer(content)) {
      fs.writeFileSync(file, content);
      return { file, bytes: content };
    }
    const { bytes, layout } = encodeGguf(content);
    fs.writeFileSync(file, bytes);
    return { file, layout, bytes };
  };

  describe('valid files', () => {
    let defaultLogits: Float32Array;

    before(async () => {
      defaultLogits = await logitsOf(put('default', spec(miniModel())).file);
      assert.strictEqual(defaultLogits.length, VOCAB);
      assert.ok(defaultLogits.every(Number.isFinite), 'default logits are not finite');
      assert.ok(Math.max(...defaultLogits) - Math.min(...defaultLogits) > 1e-3, 'default logits are flat');
    });

    for (const version of [1, 2, 3] as const) {
      it(`loads GGUF version ${version} (${version === 1 ? 'u32' : 'u64'} counts) with the same logits`, async () => {
        const { file, layout } = put(`v${version}`, spec(miniModel(), version));
        // Version 1 is smaller: its counts, lengths and dims are 4 bytes, not 8.
        if (version === 1) assert.ok(layout!.tensorInfoOffset < planV3TensorInfoOffset());
        await withModel(file, async (model) => {
          assert.strictEqual(model.info.ggufVersion, version);
          assert.strictEqual(model.info.architecture, 'llama');
          assert.strictEqual(model.info.layers, 1);
          assert.strictEqual(model.info.hidden, 32);
          assert.strictEqual(model.info.heads, 4);
          assert.strictEqual(model.info.kvHeads, 2);
          assert.strictEqual(model.info.headDim, 8);
          assert.strictEqual(model.info.vocab, VOCAB);
          assert.strictEqual(model.info.contextLength, 256);
          assert.strictEqual(model.info.ropeFreqBase, 10000);
          assert.strictEqual(model.info.ropeLayout, 'adjacent');
          assert.strictEqual(model.info.fileBytes, layout!.fileSize);
          assert.deepStrictEqual(model.info.tensorTypes, { F32: 12 });
          assert.deepStrictEqual(model.metadata('tokenizer.ggml.tokens'), Array.from({ length: VOCAB }, (_, i) => `tok${i}`));
        });
        assertSameFloats(await logitsOf(file), defaultLogits, `version ${version}`);
      });
    }

    function planV3TensorInfoOffset(): number {
      return encodeGguf(spec(miniModel(), 3)).layout.tensorInfoOffset;
    }

    for (const alignment of [64, 256]) {
      for (const version of [1, 3] as const) {
        it(`honours general.alignment ${alignment} (version ${version}) with the same logits`, async () => {
          // A 16-byte tensor first (RoPE frequency divisors of 1: no change to the logits), so every later tensor's offset depends on the alignment.
          const odd = (m: MiniModel): MiniModel => ({ ...m, tensors: [f32Tensor(1, 'rope_freqs.weight', [4], 0, 1), ...m.tensors] });
          const model = odd(setMeta(miniModel(), 'general.alignment', gguf.u32(alignment)));
          const { file, layout } = put(`align${alignment}-v${version}`, spec(model, version));
          assert.strictEqual(layout!.alignment, alignment);
          assert.strictEqual(layout!.dataStart % alignment, 0);
          for (const t of layout!.tensors) assert.strictEqual(t.relativeOffset % alignment, 0, t.name);
          // The layout really differs from the default one.
          const packed = encodeGguf(spec(odd(miniModel()), version)).layout;
          assert.notDeepStrictEqual(
            layout!.tensors.map((t) => t.relativeOffset),
            packed.tensors.map((t) => t.relativeOffset),
          );
          await withModel(file, (m) => {
            assert.strictEqual(m.info.ggufVersion, version);
            assert.strictEqual(m.metadata('general.alignment'), alignment);
          });
          assertSameFloats(await logitsOf(file), defaultLogits, `alignment ${alignment}`);
        });
      }
    }

    it('rejects a file laid out for 32-byte alignment that declares general.alignment 256', async () => {
      const model = setMeta(miniModel(), 'general.alignment', gguf.u32(256));
      const { file } = put('align-mismatch', spec(model, 3, 32));
      await expectLoadError(file, 'INVALID_FILE', /not a multiple of the alignment 256/);
    });

    it('accepts general.alignment written as another integer type (u64, i32)', async () => {
      for (const value of [gguf.u64(64), gguf.i32(64)]) {
        const { file } = put(`align-${value.type}`, spec(setMeta(miniModel(), 'general.alignment', value)));
        assertSameFloats(await logitsOf(file), defaultLogits, `general.alignment as ${value.type}`);
      }
    });
  });

  describe('metadata values', () => {
    const u64Max = (1n << 64n) - 1n;
    const i64Min = -(1n << 63n);
    const i64Max = (1n << 63n) - 1n;
    const unicode = 'héllo wörld — 漢字 ✓ 🙂 \u{10FFFF} Ω';
    const strings = (value: string[]): GgufArray => ({ type: 'array', itemType: 'string', value });
    const u32s = (value: number[]): GgufArray => ({ type: 'array', itemType: 'u32', value });

    // key, what is written, what metadata(key) must return.
    const cases: Array<readonly [string, GgufValue, unknown]> = [
      ['test.u8', { type: 'u8', value: 255 }, 255],
      ['test.u8.zero', { type: 'u8', value: 0 }, 0],
      ['test.i8', { type: 'i8', value: -128 }, -128],
      ['test.i8.max', { type: 'i8', value: 127 }, 127],
      ['test.u16', { type: 'u16', value: 65535 }, 65535],
      ['test.i16', { type: 'i16', value: -32768 }, -32768],
      ['test.u32', { type: 'u32', value: 4294967295 }, 4294967295],
      ['test.i32', { type: 'i32', value: -2147483648 }, -2147483648],
      ['test.i32.max', { type: 'i32', value: 2147483647 }, 2147483647],
      ['test.f32', { type: 'f32', value: 1.5 }, 1.5],
      ['test.f32.inexact', { type: 'f32', value: 0.1 }, Math.fround(0.1)],
      ['test.f32.neg', { type: 'f32', value: -3.25e-20 }, Math.fround(-3.25e-20)],
      ['test.f32.inf', { type: 'f32', value: -Infinity }, -Infinity],
      ['test.bool.true', { type: 'bool', value: true }, true],
      ['test.bool.false', { type: 'bool', value: false }, false],
      ['test.string', { type: 'string', value: 'hello' }, 'hello'],
      ['test.string.empty', { type: 'string', value: '' }, ''],
      ['test.string.unicode', { type: 'string', value: unicode }, unicode],
      ['test.string.nul', { type: 'string', value: 'a\u0000b' }, 'a\u0000b'],
      ['test.u64', { type: 'u64', value: u64Max }, u64Max],
      ['test.u64.small', { type: 'u64', value: 7 }, 7n],
      ['test.i64', { type: 'i64', value: i64Min }, i64Min],
      ['test.i64.max', { type: 'i64', value: i64Max }, i64Max],
      ['test.f64', { type: 'f64', value: Math.PI }, Math.PI],
      ['test.f64.tiny', { type: 'f64', value: -5e-324 }, -5e-324],
      ['test.f64.negzero', { type: 'f64', value: -0 }, -0],
      ['test.f64.big', { type: 'f64', value: 1.7976931348623157e308 }, 1.7976931348623157e308],
      ['test.arr.u8', { type: 'array', itemType: 'u8', value: [0, 1, 255] }, [0, 1, 255]],
      ['test.arr.i8', { type: 'array', itemType: 'i8', value: [-128, 0, 127] }, [-128, 0, 127]],
      ['test.arr.u16', { type: 'array', itemType: 'u16', value: [0, 65535] }, [0, 65535]],
      ['test.arr.i16', { type: 'array', itemType: 'i16', value: [-32768, 32767] }, [-32768, 32767]],
      ['test.arr.u32', u32s([0, 4294967295, 12345]), [0, 4294967295, 12345]],
      ['test.arr.i32', { type: 'array', itemType: 'i32', value: [-2147483648, -1, 2147483647] }, [-2147483648, -1, 2147483647]],
      ['test.arr.f32', { type: 'array', itemType: 'f32', value: [1.5, 0.1, -2] }, [1.5, Math.fround(0.1), -2]],
      ['test.arr.bool', { type: 'array', itemType: 'bool', value: [true, false, true] }, [true, false, true]],
      ['test.arr.string', strings(['a', '', unicode, 'tok']), ['a', '', unicode, 'tok']],
      ['test.arr.u64', { type: 'array', itemType: 'u64', value: [0n, u64Max, 1n << 53n] }, [0n, u64Max, 1n << 53n]],
      ['test.arr.i64', { type: 'array', itemType: 'i64', value: [i64Min, -1n, i64Max] }, [i64Min, -1n, i64Max]],
      ['test.arr.f64', { type: 'array', itemType: 'f64', value: [0.1, -1e-300, 2 ** 60] }, [0.1, -1e-300, 2 ** 60]],
      ['test.arr.empty.u8', { type: 'array', itemType: 'u8', value: [] }, []],
      ['test.arr.empty.string', strings([]), []],
      ['test.arr.empty.u64', { type: 'array', itemType: 'u64', value: [] }, []],
      ['test.arr.empty.array', { type: 'array', itemType: 'array', value: [] }, []],
      [
        'test.arr.arr.string',
        { type: 'array', itemType: 'array', value: [strings(['a', 'bc']), strings([]), strings([unicode])] },
        [['a', 'bc'], [], [unicode]],
      ],
      [
        'test.arr.arr.mixed',
        {
          type: 'array',
          itemType: 'array',
          value: [u32s([1, 2]), { type: 'array', itemType: 'i64', value: [-5n] }, { type: 'array', itemType: 'bool', value: [false] }],
        },
        [[1, 2], [-5n], [false]],
      ],
      [
        'test.arr.arr.arr',
        { type: 'array', itemType: 'array', value: [{ type: 'array', itemType: 'array', value: [u32s([7]), u32s([])] }] },
        [[[7], []]],
      ],
      [`test.${unicode}.key`, { type: 'string', value: 'unicode key' }, 'unicode key'],
    ];

    for (const version of [1, 2, 3] as const) {
      it(`reads every value type back exactly (version ${version})`, async () => {
        let model = miniModel();
        for (const [key, value] of cases) model = setMeta(model, key, value);
        const { file } = put(`values-v${version}`, spec(model, version));
        await withModel(file, (m) => {
          for (const [key, , expected] of cases) {
            assert.deepStrictEqual(m.metadata(key), expected, `metadata('${key}')`);
          }
          const all = m.metadata();
          assert.deepStrictEqual(Object.keys(all).sort(), model.metadata.map(([k]) => k).sort());
          for (const [key, , expected] of cases) assert.deepStrictEqual(all[key], expected, `metadata()['${key}']`);
          assert.strictEqual(all['llama.embedding_length'], 32);
          assert.strictEqual(all['llama.attention.layer_norm_rms_epsilon'], Math.fround(1e-5));
          assert.strictEqual(m.metadata('no.such.key'), undefined);
        });
      });
    }

    it('accepts arrays nested 8 deep and rejects 9', async () => {
      const nest = (depth: number): GgufArray =>
        depth === 1 ? u32s([depth]) : { type: 'array', itemType: 'array', value: [nest(depth - 1)] };
      const expected = (depth: number): unknown => (depth === 1 ? [1] : [expected(depth - 1)]);
      const ok = put('nest8', spec(setMeta(miniModel(), 'test.nest', nest(8))));
      await withModel(ok.file, (m) => assert.deepStrictEqual(m.metadata('test.nest'), expected(8)));
      const deep = put('nest9', spec(setMeta(miniModel(), 'test.nest', nest(9))));
      await expectLoadError(deep.file, 'INVALID_FILE', /'test\.nest'/, /nests arrays more than 8 deep/);
    });
  });

  describe('not a GGUF file', () => {
    it('rejects a wrong magic', async () => {
      const good = encodeGguf(spec(miniModel())).bytes;
      for (const magic of ['GGML', 'FUGG', 'gguf', '\0\0\0\0']) {
        const bytes = Buffer.from(good);
        bytes.write(magic, 0, 'latin1');
        const { file } = put(`magic-${magic.charCodeAt(0)}`, bytes);
        await expectLoadError(file, 'INVALID_FILE', /not a GGUF file/, /magic/);
      }
    });

    it('rejects a text file', async () => {
      const { file } = put('text', Buffer.from('This is a README, not a model.\n'.repeat(50)));
      await expectLoadError(file, 'INVALID_FILE', /not a GGUF file/);
    });

    it('rejects an empty file and a file of only the magic', async () => {
      await expectLoadError(put('empty', Buffer.alloc(0)).file, 'INVALID_FILE', /not a GGUF file/);
      await expectLoadError(put('magic-only', Buffer.from('GGUF')).file, 'INVALID_FILE', /truncated/, /version/);
    });

    it('rejects a missing file with IO_ERROR', async () => {
      const file = path.join(dir(), 'no-such-model.gguf');
      await expectLoadError(file, 'IO_ERROR', /cannot open/, /no such file/i);
    });

    it('rejects a directory with IO_ERROR', async () => {
      const folder = path.join(dir(), 'a-folder.gguf');
      fs.mkdirSync(folder);
      await expectLoadError(folder, 'IO_ERROR', /not a regular file/);
    });
  });

  describe('GGUF version', () => {
    for (const version of [0, 4, 0xffffffff]) {
      it(`rejects version ${version}`, async () => {
        const bytes = patchU32(encodeGguf(spec(miniModel())).bytes, 4, version);
        const { file } = put(`version-${version}`, bytes);
        await expectLoadError(file, 'INVALID_FILE', new RegExp(`GGUF version ${version}\\b`), /versions 1 to 3/);
      });
    }
  });

  describe('truncated files', () => {
    for (const version of [1, 3] as const) {
      it(`rejects a version ${version} file cut anywhere before the end of its tensor data`, async () => {
        const model = setMeta(
          setMeta(miniModel(), 'test.string', gguf.string('a string value of some length')),
          'test.nested',
          { type: 'array', itemType: 'array', value: [gguf.strings(['x', 'yz']), gguf.strings(['w'])] },
        );
        const { bytes, layout } = encodeGguf(spec(model, version));
        const dataEnd = Math.max(...layout.tensors.map((t) => t.dataOffset + t.byteLength));
        const cuts = new Set<number>([0, 1, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, layout.metadataCountOffset + 2]);
        for (const m of layout.metadata) {
          cuts.add(m.offset + 1); // inside the key's length
          cuts.add(m.valueTypeOffset - 2); // inside the key's text
          cuts.add(m.valueTypeOffset + 2); // inside the value type
          cuts.add(m.valueOffset); // right after the type
          cuts.add(m.valueOffset + 1); // inside a scalar, a string length, an array type
        }
        const str = metaLayout(layout, 'test.string');
        cuts.add(str.valueOffset + (version === 1 ? 4 : 8) + 10); // inside the string's text
        const tokens = metaLayout(layout, 'tokenizer.ggml.tokens');
        const tokensEnd = layout.metadata[layout.metadata.indexOf(tokens) + 1].offset;
        for (const f of [0.1, 0.5, 0.9]) cuts.add(Math.floor(tokens.valueOffset + f * (tokensEnd - tokens.valueOffset)));
        const nested = metaLayout(layout, 'test.nested');
        for (let i = 1; i < 30; i += 3) cuts.add(nested.valueOffset + i); // inside the nested array
        for (const t of layout.tensors) {
          cuts.add(t.infoOffset + 1);
          cuts.add(t.nDimsOffset - 3);
          cuts.add(t.nDimsOffset + 2);
          cuts.add(t.dimsOffset + 3);
          cuts.add(t.typeOffset);
          cuts.add(t.typeOffset + 1);
          cuts.add(t.offsetFieldOffset + 4);
          cuts.add(t.offsetFieldOffset + 8);
          cuts.add(t.dataOffset + Math.floor(t.byteLength / 2)); // inside the data
        }
        cuts.add(layout.tensorInfoOffset);
        cuts.add(layout.dataStart - 1);
        cuts.add(layout.dataStart);
        cuts.add(dataEnd - 1);
        for (let i = 0; i < 30; i++) cuts.add(Math.floor((i * layout.dataStart) / 30) + 1); // spread over the header
        for (let i = 1; i <= 5; i++) cuts.add(layout.dataStart + Math.floor((i * (dataEnd - layout.dataStart)) / 6));

        const sorted = [...cuts].filter((c) => c >= 0 && c < dataEnd).sort((a, b) => a - b);
        assert.ok(sorted.length > 150, `only ${sorted.length} cut points`);
        const failures: string[] = [];
        for (const cut of sorted) {
          const { file } = put(`cut-v${version}-${cut}`, bytes.subarray(0, cut));
          try {
            const phrase = cut < 4 ? /not a GGUF file/ : /truncated/;
            await expectLoadError(file, 'INVALID_FILE', phrase);
          } catch (error) {
            failures.push(`cut at ${cut}: ${(error as Error).message}`);
          }
          fs.rmSync(file);
        }
        assert.deepStrictEqual(failures, []);
      });
    }

    it('still loads when only the zero padding after the last tensor is missing', async () => {
      // The last tensor ends off the 64-byte grid, so the writer pads the file.
      const model = setMeta(miniModel(), 'general.alignment', gguf.u32(64));
      model.tensors.push(f32Tensor(1, 'rope_freqs.weight', [4], 0, 1));
      const { bytes, layout } = encodeGguf(spec(model));
      const last = layout.tensors[layout.tensors.length - 1];
      const end = last.dataOffset + last.byteLength;
      assert.ok(end < layout.fileSize, 'the fixture has no trailing padding');
      const { file } = put('no-padding', bytes.subarray(0, end));
      await withModel(file, (m) => assert.strictEqual(m.info.fileBytes, end));
      await expectLoadError(put('cut-last', bytes.subarray(0, end - 1)).file, 'INVALID_FILE', /'rope_freqs\.weight'/, /runs past the end/);
    });
  });

  describe('corrupt sizes, offsets and fields', () => {
    const base = () => encodeGguf(spec(miniModel()));

    it('rejects a tensor whose offset points past the end of the file', async () => {
      const { bytes, layout } = base();
      const t = tensorLayout(layout, 'blk.0.ffn_up.weight');
      const beyond = BigInt(Math.ceil(layout.fileSize / 32) * 32);
      for (const offset of [beyond, beyond * 1000n, (1n << 64n) - 32n, BigInt(layout.fileSize - layout.dataStart - 32)]) {
        const { file } = put(`offset-${offset}`, patchU64(bytes, t.offsetFieldOffset, offset));
        await expectLoadError(file, 'INVALID_FILE', /'blk\.0\.ffn_up\.weight'/, /runs past the end of the file/);
      }
    });

    it('rejects a tensor whose dimensions make it run past the end', async () => {
      const { bytes, layout } = base();
      const t = tensorLayout(layout, 'output.weight');
      const { file } = put('dims-past-end', patchU64(bytes, t.dimsOffset + 8, 64n * 1024n));
      await expectLoadError(file, 'INVALID_FILE', /'output\.weight'/, /runs past the end of the file/);
    });

    it('rejects a tensor whose offset is not aligned', async () => {
      const { bytes, layout } = base();
      const t = tensorLayout(layout, 'blk.0.attn_k.weight');
      for (const delta of [4, 1, 16]) {
        const { file } = put(`unaligned-${delta}`, patchU64(bytes, t.offsetFieldOffset, BigInt(t.relativeOffset + delta)));
        await expectLoadError(file, 'INVALID_FILE', /'blk\.0\.attn_k\.weight'/, /not a multiple of the alignment 32/);
      }
    });

    describe('absurd counts and lengths fail fast without allocating them', () => {
      const huge = [1n << 62n, (1n << 64n) - 1n, 1n << 40n];

      async function fastError(file: string, ...phrases: RegExp[]): Promise<void> {
        const rssBefore = process.memoryUsage().rss;
        const started = Date.now();
        await expectLoadError(file, 'INVALID_FILE', ...phrases);
        const elapsed = Date.now() - started;
        const grown = process.memoryUsage().rss - rssBefore;
        assert.ok(elapsed < 2000, `took ${elapsed} ms`);
        assert.ok(grown < 256 * 1024 * 1024, `memory grew by ${grown} bytes`);
      }

      it('tensor count', async () => {
        const { bytes } = base();
        for (const n of huge) {
          await fastError(put(`tensors-${n}`, patchU64(bytes, 8, n)).file, new RegExp(`claims ${n} tensors`));
        }
        const v1 = encodeGguf(spec(miniModel(), 1)).bytes;
        await fastError(put('tensors-v1', patchU32(v1, 8, 0xffffffff)).file, /claims 4294967295 tensors/);
      });

      it('metadata count', async () => {
        const { bytes, layout } = base();
        for (const n of huge) {
          await fastError(put(`metadata-${n}`, patchU64(bytes, layout.metadataCountOffset, n)).file, /truncated|corrupt/);
        }
        const v1 = encodeGguf(spec(miniModel(), 1));
        await fastError(put('metadata-v1', patchU32(v1.bytes, v1.layout.metadataCountOffset, 0xffffffff)).file, /truncated|corrupt/);
      });

      it('array length', async () => {
        const { bytes, layout } = base();
        const tokens = metaLayout(layout, 'tokenizer.ggml.tokens');
        const scores = metaLayout(layout, 'tokenizer.ggml.scores');
        for (const n of huge) {
          const lengthAt = tokens.valueOffset + 4; // after the item type
          await fastError(put(`strings-${n}`, patchU64(bytes, lengthAt, n)).file, /'tokenizer\.ggml\.tokens'/, new RegExp(`claims ${n} items`));
          await fastError(put(`floats-${n}`, patchU64(bytes, scores.valueOffset + 4, n)).file, /'tokenizer\.ggml\.scores'/, new RegExp(`claims ${n} items`));
        }
      });

      it('string length (a key, a value, an array item, a tensor name)', async () => {
        const { bytes, layout } = base();
        const name = metaLayout(layout, 'general.name');
        const tokens = metaLayout(layout, 'tokenizer.ggml.tokens');
        const tensor = layout.tensors[3];
        for (const n of huge) {
          await fastError(put(`key-${n}`, patchU64(bytes, name.offset, n)).file, /metadata key/, new RegExp(`claims ${n} bytes`));
          await fastError(put(`value-${n}`, patchU64(bytes, name.valueOffset, n)).file, /string value/, new RegExp(`claims ${n} bytes`));
          await fastError(put(`item-${n}`, patchU64(bytes, tokens.valueOffset + 12, n)).file, /a string in an array/, new RegExp(`claims ${n} bytes`));
          await fastError(put(`tname-${n}`, patchU64(bytes, tensor.infoOffset, n)).file, /tensor name/, new RegExp(`claims ${n} bytes`));
        }
      });

      it('tensor dimensions whose product overflows', async () => {
        const { bytes, layout } = base();
        const t = tensorLayout(layout, 'blk.0.attn_q.weight');
        let patched = patchU64(bytes, t.dimsOffset, 1n << 40n);
        patched = patchU64(patched, t.dimsOffset + 8, 1n << 40n);
        await fastError(put('dims-overflow', patched).file, /'blk\.0\.attn_q\.weight'/, /invalid dimension/);
        // 2^62 F32 values: the element count fits, its byte size does not.
        patched = patchU64(bytes, t.dimsOffset, 1n << 31n);
        patched = patchU64(patched, t.dimsOffset + 8, 1n << 31n);
        await fastError(put('bytes-overflow', patched).file, /'blk\.0\.attn_q\.weight'/, /too large/);
      });
    });

    for (const dims of [[], [32, 1, 1, 1, 1]]) {
      it(`rejects a tensor with ${dims.length} dimensions`, async () => {
        const model = miniModel();
        model.tensors.push({ name: 'extra.weight', ggmlType: GgmlType.F32, dims, data: Buffer.alloc(dims.length ? 128 : 4) });
        const { file } = put(`ndims-${dims.length}`, spec(model));
        await expectLoadError(file, 'INVALID_FILE', /'extra\.weight'/, new RegExp(`has ${dims.length} dimensions`));
      });
    }

    it('rejects a dimension of 0', async () => {
      const model = miniModel();
      model.tensors.push({ name: 'extra.empty', ggmlType: GgmlType.F32, dims: [32, 0], data: Buffer.alloc(0) });
      await expectLoadError(put('dim0', spec(model)).file, 'INVALID_FILE', /'extra\.empty'/, /invalid dimension 0/);
    });

    for (const typeId of [99, 4, 0xffffffff]) {
      it(`rejects unknown tensor type id ${typeId} with UNSUPPORTED_MODEL`, async () => {
        const model = miniModel();
        model.tensors.push({ name: 'extra.strange', ggmlType: typeId, dims: [32], data: Buffer.alloc(128) });
        const { file } = put(`type-${typeId}`, spec(model));
        await expectLoadError(file, 'UNSUPPORTED_MODEL', /'extra\.strange'/, new RegExp(`unknown tensor type id ${typeId}\\b`));
      });
    }

    it('rejects Q8_K weights (known to GGUF, not run by the engine) naming the tensor and the type', async () => {
      const model = miniModel({ hidden: 256, ffn: 256, heads: 4, kvHeads: 2 });
      const q8k = new Uint8Array(292 * 256);
      const withQ8k = replaceTensor(model, 'blk.0.attn_q.weight', {
        name: 'blk.0.attn_q.weight',
        ggmlType: GgmlType.Q8_K,
        dims: [256, 256],
        data: q8k,
      });
      const { file, layout } = put('q8k', spec(withQ8k));
      assert.strictEqual(tensorLayout(layout!, 'blk.0.attn_q.weight').byteLength, 292 * 256);
      const error = await expectLoadError(file, 'UNSUPPORTED_MODEL', /'blk\.0\.attn_q\.weight'/, /\bQ8_K\b/);
      assert.match(error.message, /Q4_K/, 'the message should say which types work');
      // The same model with F32 there loads: the type alone was the problem.
      await withModel(put('q8k-control', spec(model)).file, (m) => assert.strictEqual(m.info.hidden, 256));
    });

    it('rejects Q4_K rows that do not hold whole 256-value blocks', async () => {
      const model = miniModel();
      model.tensors.push({ name: 'extra.q4k', ggmlType: GgmlType.Q4_K, dims: [32, 8], data: Buffer.alloc(144) });
      await expectLoadError(put('q4k-rows', spec(model)).file, 'INVALID_FILE', /'extra\.q4k'/, /not a multiple of the Q4_K block of 256/);
    });

    it('rejects a Q4_K norm vector with UNSUPPORTED_MODEL', async () => {
      const model = replaceTensor(miniModel({ hidden: 256, ffn: 256 }), 'blk.0.ffn_norm.weight', {
        name: 'blk.0.ffn_norm.weight',
        ggmlType: GgmlType.Q4_K,
        dims: [256],
        data: Buffer.alloc(144),
      });
      await expectLoadError(put('q4k-norm', spec(model)).file, 'UNSUPPORTED_MODEL', /'blk\.0\.ffn_norm\.weight'/, /Q4_K/);
    });

    for (const arch of ['gpt2', 'mamba', '']) {
      it(`rejects architecture '${arch}' with UNSUPPORTED_MODEL`, async () => {
        const { file } = put(`arch-${arch || 'empty'}`, spec(miniModel({ arch })));
        await expectLoadError(file, 'UNSUPPORTED_MODEL', new RegExp(`architecture '${arch}'`), /llama, qwen2/);
      });
    }

    it('rejects a file without general.architecture', async () => {
      const { file } = put('no-arch', spec(withoutMeta(miniModel(), 'general.architecture')));
      await expectLoadError(file, 'INVALID_FILE', /lacks the metadata key 'general\.architecture'/);
    });

    it('rejects a missing hyperparameter', async () => {
      const { file } = put('no-blocks', spec(withoutMeta(miniModel(), 'llama.block_count')));
      await expectLoadError(file, 'INVALID_FILE', /lacks the metadata key 'llama\.block_count'/);
    });

    it('rejects metadata of the wrong type, naming the file and the key', async () => {
      const wrong: Array<readonly [string, GgufValue, RegExp]> = [
        ['general.architecture', gguf.u32(1), /'general\.architecture' should be a string/],
        ['llama.block_count', gguf.string('one'), /'llama\.block_count' should be an integer/],
        ['llama.embedding_length', gguf.f32(32), /'llama\.embedding_length' should be an integer/],
        ['llama.rope.freq_base', gguf.strings(['x']), /'llama\.rope\.freq_base' should be a number/],
        ['general.alignment', gguf.string('32'), /'general\.alignment' should be an integer/],
        ['general.alignment', gguf.u64((1n << 64n) - 1n), /'general\.alignment' is too large/],
      ];
      for (const [key, value, phrase] of wrong) {
        const { file } = put(`wrongtype-${key}`, spec(setMeta(miniModel(), key, value), 3, 32));
        await expectLoadError(file, 'INVALID_FILE', phrase);
      }
    });

    it('rejects an out-of-range hyperparameter', async () => {
      for (const value of [gguf.u32(0), gguf.i32(-1), gguf.u64(1n << 40n)]) {
        const { file } = put(`heads-${value.type}`, spec(setMeta(miniModel(), 'llama.attention.head_count', value)));
        await expectLoadError(file, 'INVALID_FILE', /llama\.attention\.head_count = /, /positive 32-bit integer/);
      }
    });

    for (const missing of ['blk.0.ffn_down.weight', 'token_embd.weight', 'blk.0.attn_norm.weight', 'output_norm.weight']) {
      it(`rejects a model without ${missing}`, async () => {
        const { file } = put(`missing-${missing}`, spec(replaceTensor(miniModel(), missing, undefined)));
        await expectLoadError(file, 'INVALID_FILE', new RegExp(`lacks the tensor '${escapeRegExp(missing)}'`));
      });
    }

    it('rejects a model whose block_count asks for a layer the file lacks', async () => {
      const { file } = put('layers-2', spec(setMeta(miniModel(), 'llama.block_count', gguf.u32(2))));
      await expectLoadError(file, 'INVALID_FILE', /lacks the tensor 'blk\.1\.attn_norm\.weight'/);
    });

    it('rejects tensors of the wrong shape', async () => {
      const wrong: Array<readonly [GgufTensorSpec, RegExp]> = [
        [f32Tensor(1, 'blk.0.attn_k.weight', [32, 32], 0.1), /'blk\.0\.attn_k\.weight' has shape \[32, 32\] but the model's metadata implies \[32, 16\]/],
        [f32Tensor(1, 'blk.0.ffn_down.weight', [32, 64], 0.1), /'blk\.0\.ffn_down\.weight' has shape \[32, 64\]/],
        [f32Tensor(1, 'blk.0.attn_q.weight', [32, 32, 2], 0.1), /'blk\.0\.attn_q\.weight' has shape \[32, 32, 2\]/],
        [f32Tensor(1, 'blk.0.ffn_norm.weight', [16], 0.1), /'blk\.0\.ffn_norm\.weight' has shape \[16\] but the model's metadata implies \[32\]/],
        [f32Tensor(1, 'output_norm.weight', [32, 2], 0.1), /'output_norm\.weight' has shape \[32, 2\]/],
        [f32Tensor(1, 'output.weight', [32, 63], 0.1), /'output\.weight' has shape \[32, 63\]/],
        [f32Tensor(1, 'token_embd.weight', [16, 64], 0.1), /token_embd\.weight does not have 32 values per token/],
      ];
      for (const [tensor, phrase] of wrong) {
        const { file } = put(`shape-${tensor.name}`, spec(replaceTensor(miniModel(), tensor.name, tensor)));
        await expectLoadError(file, 'INVALID_FILE', phrase);
      }
    });

    it('rejects a duplicate metadata key', async () => {
      const model = miniModel();
      model.metadata.push(['general.name', gguf.string('again')]);
      await expectLoadError(put('dup-key', spec(model)).file, 'INVALID_FILE', /metadata key 'general\.name' appears twice/);
    });

    it('rejects a duplicate tensor name', async () => {
      const model = miniModel();
      model.tensors.push(f32Tensor(2, 'blk.0.attn_q.weight', [32, 32], 0.1));
      await expectLoadError(put('dup-tensor', spec(model)).file, 'INVALID_FILE', /tensor 'blk\.0\.attn_q\.weight' appears twice/);
    });

    for (const alignment of [0, 3, 48, 0xffffffff]) {
      it(`rejects general.alignment ${alignment}`, async () => {
        const { file } = put(`align-${alignment}`, spec(setMeta(miniModel(), 'general.alignment', gguf.u32(alignment)), 3, 32));
        await expectLoadError(file, 'INVALID_FILE', new RegExp(`general\\.alignment ${alignment}\\b`), /not a power of two/);
      });
    }

    it('rejects a negative general.alignment', async () => {
      const { file } = put('align-neg', spec(setMeta(miniModel(), 'general.alignment', gguf.i32(-32)), 3, 32));
      await expectLoadError(file, 'INVALID_FILE', /general\.alignment -32\b/, /not a power of two/);
    });

    it('rejects a bool of value 2, alone or in an array', async () => {
      const alone = setMeta(miniModel(), 'test.flag', raw(7, [2]));
      await expectLoadError(put('bool2', spec(alone)).file, 'INVALID_FILE', /'test\.flag' holds a bool of value 2/);
      const inArray = setMeta(miniModel(), 'test.flags', raw(9, u32Bytes(7), u64Bytes(3n), [1, 0, 255]));
      await expectLoadError(put('bool255', spec(inArray)).file, 'INVALID_FILE', /'test\.flags' holds a bool of value 255/);
    });

    for (const typeId of [13, 99, 0xffffffff]) {
      it(`rejects unknown metadata value type ${typeId}`, async () => {
        const model = setMeta(miniModel(), 'test.strange', raw(typeId, u32Bytes(0)));
        await expectLoadError(put(`vtype-${typeId}`, spec(model)).file, 'INVALID_FILE', new RegExp(`'test\\.strange' has unknown value type ${typeId}\\b`));
      });
    }

    it('rejects an array of an unknown item type', async () => {
      const model = setMeta(miniModel(), 'test.strange', raw(9, u32Bytes(13), u64Bytes(1n), [0, 0, 0, 0]));
      await expectLoadError(put('itemtype', spec(model)).file, 'INVALID_FILE', /'test\.strange' is an array of unknown value type 13\b/);
    });

    it('rejects a string whose length runs past the following data (a value that lies by a little)', async () => {
      const { bytes, layout } = base();
      const name = metaLayout(layout, 'general.name');
      // One byte longer than written: the rest of the header parses off by one and must still fail cleanly.
      const patched = patchU64(bytes, name.valueOffset, BigInt(Buffer.byteLength('mini llama') + 1));
      const error = await loadError(put('name-plus-one', patched).file);
      assert.ok(error.code === 'INVALID_FILE' || error.code === 'UNSUPPORTED_MODEL', error.message);
      assert.ok(error.message.length > 0);
    });
  });

  describe('fuzzing the header', () => {
    const VARIANTS = 1000;
    it(`never crashes or hangs on ${VARIANTS} seeded corruptions of a valid file`, async function () {
      this.timeout(120_000);
      const { bytes, layout } = encodeGguf(spec(miniModel({ vocab: 64, hidden: 32, layers: 1 })));
      const random = new SeededRandom(20240601);
      // Fields worth aiming at: every count, length, type id, dimension and offset.
      const fields: Array<{ offset: number; width: 4 | 8 }> = [
        { offset: 8, width: 8 },
        { offset: layout.metadataCountOffset, width: 8 },
      ];
      for (const m of layout.metadata) {
        fields.push({ offset: m.offset, width: 8 }, { offset: m.valueTypeOffset, width: 4 }, { offset: m.valueOffset, width: 4 });
      }
      for (const t of layout.tensors) {
        fields.push(
          { offset: t.infoOffset, width: 8 },
          { offset: t.nDimsOffset, width: 4 },
          { offset: t.dimsOffset, width: 8 },
          { offset: t.typeOffset, width: 4 },
          { offset: t.offsetFieldOffset, width: 8 },
        );
      }
      const extremes = [0n, 1n, 2n, 3n, 5n, 7n, 8n, 9n, 12n, 13n, 31n, 0x7fffffffn, 0xffffffffn, 1n << 32n, 1n << 62n, (1n << 63n) - 1n, (1n << 64n) - 1n];

      const outcomes = { loaded: 0, rejected: 0 } as Record<string, number>;
      const started = Date.now();
      for (let variant = 0; variant < VARIANTS; variant++) {
        const corrupt = Buffer.from(bytes);
        let what: string;
        if (variant % 3 === 2) {
          const field = fields[random.integer(0, fields.length)];
          const value = random.uniform() < 0.5 ? extremes[random.integer(0, extremes.length)] : BigInt(random.nextUint32());
          if (field.width === 4) corrupt.writeUInt32LE(Number(value & 0xffffffffn), field.offset);
          else corrupt.writeBigUInt64LE(value, field.offset);
          what = `field at ${field.offset} := ${value}`;
        } else {
          const flips = 1 + random.integer(0, 4);
          const spots: string[] = [];
          for (let i = 0; i < flips; i++) {
            const at = random.integer(4, layout.dataStart);
            corrupt[at] ^= 1 + random.integer(0, 255);
            spots.push(String(at));
          }
          what = `bytes flipped at ${spots.join(', ')}`;
        }
        const file = path.join(dir(), `fuzz-${String(variant).padStart(3, '0')}.gguf`);
        fs.writeFileSync(file, corrupt);
        const t0 = Date.now();
        try {
          const model = await Engine.load(file, LOAD);
          try {
            // A loaded model must describe itself consistently.
            assert.ok(model.info.layers > 0 && model.info.vocab > 0, what);
            assert.strictEqual(typeof model.metadata(), 'object');
            // And runs: a header that loads must not make the forward pass read out of bounds.
            const prefix = await model.prefill([0, 1], { capacity: 8 });
            assert.strictEqual(prefix.logits?.length, model.info.vocab, what);
            prefix.dispose();
          } finally {
            model.dispose();
          }
          outcomes.loaded++;
        } catch (error) {
          assert.ok(error instanceof EngineError, `${what}: not an EngineError: ${String(error)}`);
          assert.ok(CODES.includes(error.code), `${what}: unknown code ${String(error.code)}`);
          assert.ok(error.message.length > 0, `${what}: empty message`);
          if (error.code !== 'IO_ERROR') {
            assert.ok(error.message.includes(file), `${what}: message does not name the file: ${error.message}`);
          }
          outcomes.rejected++;
          outcomes[error.code] = (outcomes[error.code] ?? 0) + 1;
        }
        assert.ok(Date.now() - t0 < 2000, `${what}: took ${Date.now() - t0} ms`);
        fs.rmSync(file);
      }
      console.log(`      ${VARIANTS} variants in ${Date.now() - started} ms: ${JSON.stringify(outcomes)}`);
      assert.strictEqual(outcomes.loaded + outcomes.rejected, VARIANTS);
      // Most corruptions of the header must be caught; a few (a flipped letter in a token) are harmless.
      assert.ok(outcomes.rejected > VARIANTS / 2, `only ${outcomes.rejected} of ${VARIANTS} rejected`);
    });
  });
});
