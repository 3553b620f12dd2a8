// A Q4_K_M file of Qwen2.5-0.5B's shape (24 layers, hidden 896, 14 query and 2
// KV heads, ffn 4864, tied embeddings): 896 is not a multiple of 256, so most
// tensors fall back to Q5_0 and the Q6_K ones to Q8_0, as in the real file;
// ffn_down (rows of 4864 = 19 x 256) keeps Q4_K and Q6_K.
//
// The vocabulary is cut to the first 2,048 Qwen ids (the real one has 151,936)
// to keep the float64 reference and the quantizer fast. The full 24-layer file
// holds random valid blocks (quantizing 350M values in JavaScript would take
// minutes) and is checked to load and run; the values are checked against the
// reference on the same shape truncated to 2 layers, quantized from floats.
import * as assert from 'assert';
import { randomFillSync } from 'crypto';
import * as path from 'path';
import { Engine } from '../server/src/engine';
import { GgufTensorSpec, writeGguf } from './fixtures/gguf-writer';
import { gguf } from './fixtures/gguf-values';
import { f16Bits } from './fixtures/half-floats';
import { WEIGHT_TYPE_ID, WeightType, encodedBytes } from './fixtures/quantize';
import { SeededRandom, deriveSeed } from './fixtures/seeded-random';
import { TinyModel, buildTinyModel, promptTokens, tinyModelSpec } from './fixtures/tiny-models';
import { Q4_K_M } from './fixtures/weight-recipes';
import { relativeError } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';
import { BLOCK_F16_FIELDS, BlockTypeName, blockGeometry } from './reference/ggml-blocks64';
import { ReferenceForward } from './reference/forward64';

const LAYERS = 24;
const VOCAB = 2048;
const SHAPE = { arch: 'qwen2', hidden: 896, heads: 14, kvHeads: 2, ffn: 4864, tied: true, vocab: VOCAB } as const;
const TOLERANCE = 1e-4;

/** The layers whose attn_v and ffn_down get more bits in a 24-layer Q4_K_M file. */
const MORE_BITS_LAYERS = new Set([0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);

/** The layer tensors of the shape: name suffix, dims [ne0, ne1] (1-D: [n]). */
function layerTensors(): Array<[string, number[]]> {
  const { hidden, heads, kvHeads, ffn } = SHAPE;
  const headDim = hidden / heads;
  return [
    ['attn_norm.weight', [hidden]],
    ['attn_q.weight', [hidden, heads * headDim]],
    ['attn_k.weight', [hidden, kvHeads * headDim]],
    ['attn_v.weight', [hidden, kvHeads * headDim]],
    ['attn_q.bias', [heads * headDim]],
    ['attn_k.bias', [kvHeads * headDim]],
    ['attn_v.bias', [kvHeads * headDim]],
    ['attn_output.weight', [heads * headDim, hidden]],
    ['ffn_norm.weight', [hidden]],
    ['ffn_gate.weight', [hidden, ffn]],
    ['ffn_up.weight', [hidden, ffn]],
    ['ffn_down.weight', [ffn, hidden]],
  ];
}

/** Random bytes with every f16 scale set to a small finite value of random sign (weights of order 0.01). */
function randomValidBlocks(type: BlockTypeName, count: number): Uint8Array {
  const { values, bytes } = blockGeometry(type);
  const blocks = count / values;
  const out = randomFillSync(new Uint8Array(blocks * bytes));
  const scale = values === 32 ? (type === 'Q8_0' ? 2 ** -11 : 2 ** -8) : 2 ** -14;
  const plus = f16Bits(scale);
  const minus = f16Bits(-scale);
  for (let k = 0; k < blocks; k++) {
    for (const at of BLOCK_F16_FIELDS[type]) {
      const bits = out[k * bytes + at] & 1 ? minus : plus;
      out[k * bytes + at] = bits & 0xff;
      out[k * bytes + at + 1] = bits >> 8;
    }
  }
  return out;
}

describe(`a Q4_K_M file of Qwen2.5-0.5B's shape (vocabulary cut to ${VOCAB})`, function () {
  this.timeout(120_000);
  const tempDir = useTempDir('q4km');
  // The shape truncated to 2 layers, quantized from floats: the reference's model, and the
  // 24-layer file's metadata and embedding.
  let truncated: TinyModel | undefined;
  const small = (): TinyModel => (truncated ??= buildTinyModel(tinyModelSpec({ ...SHAPE, layers: 2, recipe: Q4_K_M, weightType: 'Q4_K' })));

  it('takes the per-tensor types of the recipe: Q5_0 / Q8_0 where rows are 896 wide, Q4_K / Q6_K for ffn_down', () => {
    const typeOf = (name: string, rowLength: number): WeightType => Q4_K_M.typeOf(name, { rowLength, layers: LAYERS, tied: true });
    assert.strictEqual(typeOf('token_embd.weight', 896), 'Q8_0');
    for (let l = 0; l < LAYERS; l++) {
      for (const [suffix, dims] of layerTensors()) {
        if (dims.length !== 2) continue;
        const more = MORE_BITS_LAYERS.has(l);
        const expected = suffix === 'attn_v.weight' ? (more ? 'Q8_0' : 'Q5_0') : suffix === 'ffn_down.weight' ? (more ? 'Q6_K' : 'Q4_K') : 'Q5_0';
        assert.strictEqual(typeOf(`blk.${l}.${suffix}`, dims[0]), expected, `blk.${l}.${suffix}`);
      }
    }
  });

  it(`loads with all ${LAYERS} layers and runs a few tokens`, async () => {
    const metadata = small().metadata.map(([key, value]) => [key, key === 'qwen2.block_count' ? gguf.u32(LAYERS) : value] as const);
    const tensors: GgufTensorSpec[] = small().tensors.filter((t) => !t.name.startsWith('blk.'));
    const written = new Map<string, WeightType>();
    const random = new SeededRandom(deriveSeed(5, 'q4km-shape'));
    for (let l = 0; l < LAYERS; l++) {
      for (const [suffix, dims] of layerTensors()) {
        const name = `blk.${l}.${suffix}`;
        const count = dims.reduce((a, b) => a * b, 1);
        if (dims.length === 1) {
          const values = Float32Array.from(random.normals(count, 0.1, suffix.endsWith('norm.weight') ? 1 : 0));
          tensors.push({ name, ggmlType: WEIGHT_TYPE_ID.F32, dims, data: new Uint8Array(values.buffer) });
          continue;
        }
        const type = Q4_K_M.typeOf(name, { rowLength: dims[0], layers: LAYERS, tied: true }) as BlockTypeName;
        written.set(name, type);
        tensors.push({ name, ggmlType: WEIGHT_TYPE_ID[type], dims, data: () => randomValidBlocks(type, count), byteLength: encodedBytes(type, count) });
      }
    }
    const file = path.join(tempDir(), 'qwen2.5-0.5b-shape-q4_k_m.gguf');
    writeGguf(file, { metadata, tensors });
    assert.ok([...written.values()].includes('Q4_K') && [...written.values()].includes('Q6_K'));

    const model = await Engine.load(file, { backend: 'cpu', kvType: 'f32', exact: true });
    try {
      assert.strictEqual(model.info.layers, LAYERS);
      assert.strictEqual(model.info.hidden, 896);
      assert.strictEqual(model.info.heads, 14);
      assert.strictEqual(model.info.kvHeads, 2);
      assert.strictEqual(model.info.vocab, VOCAB);
      const prefix = await model.prefill([1, 2, 3, 4], { logits: 'last' });
      const logits = prefix.logits;
      assert.ok(logits && logits.length === VOCAB);
      assert.ok(logits.every(Number.isFinite), 'logits are finite');
      assert.ok(logits.some((v) => v !== logits[0]), 'logits differ between tokens');
      prefix.dispose();
    } finally {
      model.dispose();
    }
  });

  it('matches the float64 reference when truncated to 2 layers (Q4_K, Q6_K, Q5_0 and Q8_0 tensors)', async () => {
    const { config, weights, metadata, tensors } = small();
    const file = path.join(tempDir(), 'qwen2.5-0.5b-shape-2-layers-q4_k_m.gguf');
    writeGguf(file, { metadata, tensors });
    const types = new Set(tensors.map((t) => t.ggmlType));
    for (const type of ['Q4_K', 'Q6_K', 'Q5_0', 'Q8_0'] as const) assert.ok(types.has(WEIGHT_TYPE_ID[type]), type);
    const reference = new ReferenceForward(config, weights);
    const model = await Engine.load(file, { backend: 'cpu', kvType: 'f32', exact: true });
    try {
      const prompt = promptTokens(6, 3).map((t) => t % VOCAB);
      const prefix = await model.prefill(prompt, { logits: 'all' });
      const all = prefix.logits;
      assert.ok(all);
      let worst = 0;
      reference.forward(prompt, (position, expected) => {
        worst = Math.max(worst, relativeError(all.subarray(position * VOCAB, (position + 1) * VOCAB), expected));
      });
      assert.ok(worst < TOLERANCE, `relative error ${worst.toExponential(2)} >= ${TOLERANCE}`);
      prefix.dispose();
    } finally {
      model.dispose();
    }
  });
});
