// build/native/snapkv-write-model: GGUF files of the GPU benchmark's shapes
// with random weights, loaded by the engine as the benchmark loads them.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { WeightType } from '../bench/bench-model';
import { layerMatrixParams } from '../bench/flops';
import { modelFileName, writeShapeModel, writerTool } from '../bench/gpu/model-files';
import { SHAPES, SHAPE_NAMES, ShapeName } from '../bench/gpu/shapes';
import { randomTokens } from '../bench/gpu/tokens';
import { Engine } from '../server/src/engine';
import { useTempDir } from './helpers/temp-dir';

const TYPES: readonly WeightType[] = ['F32', 'F16', 'BF16', 'Q8_0'];

interface WriterOutput {
  written: boolean;
  bytes: number;
  parameters: number;
  tensors: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  vocab: number;
  tied: boolean;
  contextLength: number;
}

function runWriter(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(writerTool(), args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** Norms and biases (F32 vectors) besides the matrices. */
function vectorParams(name: ShapeName): number {
  const s = SHAPES[name];
  const perLayer = 2 * s.hidden + s.heads * s.headDim + 2 * s.kvHeads * s.headDim;
  return perLayer * s.layers + s.hidden;
}

describe('snapkv-write-model (GPU benchmark models)', function () {
  this.timeout(30_000);
  const tempDir = useTempDir('shape-writer');

  it('plans every shape as the benchmark counts it, without writing (--dry-run)', async () => {
    for (const name of SHAPE_NAMES) {
      const file = path.join(tempDir(), `dry-${name}.gguf`);
      const run = await runWriter(['--shape', name, '--type', 'BF16', '--out', file, '--dry-run']);
      assert.strictEqual(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as WriterOutput;
      const s = SHAPES[name];
      assert.strictEqual(out.written, false);
      assert.ok(!fs.existsSync(file), 'a dry run wrote the file');
      assert.deepStrictEqual(
        [out.hidden, out.layers, out.heads, out.kvHeads, out.headDim, out.ffn, out.vocab, out.tied, out.contextLength],
        [s.hidden, s.layers, s.heads, s.kvHeads, s.headDim, s.ffn, s.vocab, s.tied, s.contextLength],
        `${name}: the writer's shape differs from bench/gpu/shapes.ts`,
      );
      const embeddings = s.vocab * s.hidden * (s.tied ? 1 : 2);
      assert.strictEqual(out.parameters, layerMatrixParams(s) + embeddings + vectorParams(name), name);
      assert.strictEqual(out.tensors, 2 + s.layers * 12 + (s.tied ? 0 : 1), name);
    }
  });

  it('writes the tiny shape in every weight type, and the engine loads and runs each', async () => {
    const sizes = new Map<WeightType, number>();
    const firstTokens = new Map<WeightType, number[]>();
    for (const type of TYPES) {
      const file = path.join(tempDir(), modelFileName('tiny', type));
      await writeShapeModel('tiny', type, file);
      sizes.set(type, fs.statSync(file).size);
      const model = await Engine.load(file, { backend: 'cpu', threads: 2 });
      try {
        const info = model.info;
        const s = SHAPES.tiny;
        assert.strictEqual(info.architecture, 'qwen2');
        assert.deepStrictEqual(
          [info.hidden, info.layers, info.heads, info.kvHeads, info.headDim, info.ffn, info.vocab, info.tiedEmbeddings, info.contextLength],
          [s.hidden, s.layers, s.heads, s.kvHeads, s.headDim, s.ffn, s.vocab, s.tied, s.contextLength],
        );
        assert.strictEqual(info.qkvBias, true);
        assert.strictEqual(info.ropeLayout, 'halves');
        assert.strictEqual(info.ropeFreqBase, s.ropeTheta);
        const prefix = await model.prefill(randomTokens(48, info.vocab, 5), { logits: 'last', capacity: 64 });
        try {
          const logits = prefix.logits!;
          assert.strictEqual(logits.length, info.vocab);
          assert.ok(logits.every(Number.isFinite), `${type}: non-finite logits`);
          const spread = Math.max(...logits) - Math.min(...logits);
          assert.ok(spread > 0.01 && spread < 1000, `${type}: logits spread ${spread}`);
          const tokens: number[] = [];
          for await (const t of prefix.generate({ maxTokens: 4 })) tokens.push(t);
          assert.strictEqual(tokens.length, 4);
          firstTokens.set(type, tokens);
        } finally {
          prefix.dispose();
        }
      } finally {
        model.dispose();
      }
    }
    assert.strictEqual(sizes.get('F16'), sizes.get('BF16'));
    assert.ok(sizes.get('Q8_0')! < sizes.get('BF16')! && sizes.get('BF16')! < sizes.get('F32')!, JSON.stringify([...sizes]));
    // The four types encode the same underlying values: greedy decoding agrees at least on its first token.
    const first = [...firstTokens.values()].map((tokens) => tokens[0]);
    assert.ok(first.filter((t) => t === first[0]).length >= 3, `first tokens by type: ${JSON.stringify([...firstTokens])}`);
  });

  it('writes the same bytes for the same seed whatever the thread count, other bytes for another seed', async () => {
    const write = async (name: string, seed: number, threads: number): Promise<Buffer> => {
      const file = path.join(tempDir(), name);
      const run = await runWriter(['--shape', 'tiny', '--type', 'Q8_0', '--out', file, '--seed', String(seed), '--threads', String(threads)]);
      assert.strictEqual(run.code, 0, run.stderr);
      return fs.readFileSync(file);
    };
    const one = await write('t1.gguf', 7, 1);
    const three = await write('t3.gguf', 7, 3);
    const other = await write('s8.gguf', 8, 3);
    assert.ok(one.equals(three), 'the thread count changed the file');
    assert.ok(!one.equals(other), 'the seed did not change the file');
    assert.strictEqual(one.length, other.length);
  });

  it('writes the tiny shape as Q4_0, Q5_0 and the Q4_K_M mix (Q4_K and Q6_K in ffn_down), and the engine runs them', async () => {
    for (const type of ['Q4_0', 'Q5_0', 'Q4_K_M']) {
      const file = path.join(tempDir(), `tiny-${type}.gguf`);
      const run = await runWriter(['--shape', 'tiny', '--type', type, '--out', file]);
      assert.strictEqual(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout) as WriterOutput & { type: string };
      assert.strictEqual(out.type, type);
      const model = await Engine.load(file, { backend: 'cpu', threads: 2 });
      try {
        const prefix = await model.prefill(randomTokens(24, model.info.vocab, 5), { logits: 'last' });
        const logits = prefix.logits!;
        assert.ok(logits.every(Number.isFinite), `${type}: non-finite logits`);
        const spread = Math.max(...logits) - Math.min(...logits);
        assert.ok(spread > 0.01 && spread < 1000, `${type}: logits spread ${spread}`);
        prefix.dispose();
      } finally {
        model.dispose();
      }
    }
  });

  it('refuses unknown shapes and types with the choices, and leaves no partial file behind', async () => {
    const file = path.join(tempDir(), 'bad.gguf');
    const shape = await runWriter(['--shape', 'qwen9', '--type', 'BF16', '--out', file]);
    assert.strictEqual(shape.code, 2);
    assert.match(shape.stderr, /unknown shape 'qwen9'; choose one of: qwen2\.5-coder-1\.5b, qwen2\.5-coder-7b, tiny/);
    const type = await runWriter(['--shape', 'tiny', '--type', 'Q3_K', '--out', file]);
    assert.strictEqual(type.code, 2);
    assert.match(type.stderr, /unknown weight type 'Q3_K'; choose one of: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K, Q4_K_M/);
    // Q4_K needs rows of whole 256-value blocks; the tiny shape's are 128.
    const rows = await runWriter(['--shape', 'tiny', '--type', 'Q4_K', '--out', file]);
    assert.strictEqual(rows.code, 2);
    assert.match(rows.stderr, /rows of 128 values, not whole Q4_K blocks/);
    const folder = await runWriter(['--shape', 'tiny', '--type', 'BF16', '--out', path.join(tempDir(), 'missing', 'x.gguf')]);
    assert.strictEqual(folder.code, 1);
    assert.match(folder.stderr, /cannot create/);
    assert.deepStrictEqual(fs.readdirSync(tempDir()).filter((f) => f.endsWith('.tmp')), []);
  });
});
