// One-shot mode (layer by layer, each layer compressed as soon as it is
// done) against prefix-then-query: the same kept positions and the same
// logits, bit for bit; and a measured peak memory far below the full cache's.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { CompactCache, Engine, Model, SnapKvOptions } from '../server/src/engine';
import { promptTokens, tinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { useTempDir } from './helpers/temp-dir';

const run = promisify(execFile);

async function generated(compact: CompactCache, count: number): Promise<number[]> {
  const tokens: number[] = [];
  for await (const token of compact.generate({ maxTokens: count })) tokens.push(token);
  return tokens;
}

function keptPositions(compact: CompactCache): number[][][] {
  return compact.kept().map((layer) => layer.map((head) => Array.from(head.positions)));
}

describe('one-shot mode', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('one-shot');
  let model: Model;

  before(async () => {
    const fixture = writeTinyModel(tinyModelSpec({ arch: 'qwen2', weightType: 'BF16', tied: true, seed: 5 }), tempDir());
    model = await Engine.load(fixture.path, { backend: 'cpu', kvType: 'f32' });
  });
  after(() => model.dispose());

  const settings: Array<{ name: string; options: SnapKvOptions; question: number }> = [
    { name: 'max pooling, GQA mean', options: { window: 16, budget: 96, kernel: 7 }, question: 40 },
    { name: 'avg pooling, GQA repeat', options: { window: 16, budget: 80, kernel: 5, pooling: 'avg', gqa: 'repeat' }, question: 24 },
    { name: 'window longer than the question', options: { window: 32, budget: 64, kernel: 7 }, question: 6 },
    { name: 'prompt shorter than the budget', options: { window: 16, budget: 4096, kernel: 7 }, question: 20 },
  ];

  for (const { name, options, question } of settings) {
    it(`equals prefix-then-query: ${name}`, async () => {
      const prompt = promptTokens(300, 21);
      const split = prompt.length - question;
      const prefix = await model.prefill(prompt.slice(0, split), { chunkTokens: 100 });
      const queried = await prefix.query(prompt.slice(split), options);
      const oneShot = await model.compressOneShot(prompt, { ...options, chunkTokens: 64 });
      assert.deepStrictEqual(keptPositions(oneShot), keptPositions(queried));
      assert.deepStrictEqual(oneShot.lastLogits(), queried.lastLogits());
      assert.deepStrictEqual(oneShot.stats(), queried.stats());
      assert.deepStrictEqual(await generated(oneShot, 12), await generated(queried, 12));
      assert.deepStrictEqual(oneShot.lastLogits(), queried.lastLogits());
      for (const cache of [oneShot, queried, prefix]) cache.dispose();
    });
  }

  it('reports progress layer by layer and can be cancelled', async () => {
    const prompt = promptTokens(400, 22);
    const reports: number[] = [];
    const compact = await model.compressOneShot(prompt, { budget: 64, onProgress: (p) => reports.push(p.tokensDone) });
    compact.dispose();
    await new Promise((resolve) => setImmediate(resolve));
    assert.strictEqual(reports.length, model.info.layers);
    assert.strictEqual(reports[reports.length - 1], prompt.length);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(model.compressOneShot(prompt, { budget: 64, signal: controller.signal }), { name: 'AbortError' });
  });

  it('peaks far below the full cache for a long prompt (measured in child processes)', async () => {
    // 8 layers x 4 KV heads x head_dim 16: 4 KiB of f32 keys and values per token.
    const spec = tinyModelSpec({ arch: 'llama', weightType: 'Q8_0', tied: true, layers: 8, heads: 4, kvHeads: 4, seed: 6, contextLength: 16384 });
    const fixture = writeTinyModel(spec, tempDir());
    const length = 8192;
    const child = path.join(__dirname, 'helpers', 'peak-memory-child.js');
    const measure = async (mode: string): Promise<{ growthKiB: number; plannedKiB: number }> => {
      const { stdout } = await run(process.execPath, [child, fixture.path, mode, String(length), '512'], { maxBuffer: 1 << 20 });
      return JSON.parse(stdout.trim().split('\n').pop() as string) as { growthKiB: number; plannedKiB: number };
    };
    const full = await measure('prefix-then-query');
    const oneShot = await measure('one-shot');
    const fullKvMiB = (spec.layers * spec.kvHeads * (spec.hidden / spec.heads) * 2 * 4 * length) / 2 ** 20;
    console.log(
      `      ${length} tokens: full cache ${fullKvMiB.toFixed(1)} MiB computed; measured peak growth ` +
        `prefix-then-query ${(full.growthKiB / 1024).toFixed(1)} MiB, one-shot ${(oneShot.growthKiB / 1024).toFixed(1)} MiB ` +
        `(planned ${(oneShot.plannedKiB / 1024).toFixed(1)} MiB)`,
    );
    // The plan the server chooses one-shot by bounds what one-shot takes (10% for the allocator's own pages).
    assert.ok(oneShot.growthKiB <= oneShot.plannedKiB * 1.1, `one-shot grew ${oneShot.growthKiB} KiB, planned ${oneShot.plannedKiB} KiB`);
    assert.ok(full.growthKiB / 1024 > fullKvMiB * 0.9, 'the measurement should see the full cache');
    assert.ok(oneShot.growthKiB * 3 < full.growthKiB, 'one-shot should peak far below prefix-then-query');
  });
});
