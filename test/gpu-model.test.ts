// The CUDA backend against the CPU backend on the same fixture files: whole
// model logits, SnapKV's kept positions, generation from compact caches, a
// prompt cache held in pinned host memory, one-shot mode, saved caches, and
// out-of-memory errors. Skipped with the reason printed where no GPU is
// usable; `npm run test:gpu` runs it with --forbid-pending, so there a skip
// is a failure.
//
// Bound (bf16): the GPU rounds the GEMM operands (normed activations,
// attention output, feed-forward activations, weights of F32/F16 files) and
// the keys and values to bf16, 8 significant bits (unit roundoff 2^-9 ~ 2e-3),
// then accumulates in f32. Each layer adds a few such roundings, relative to
// the values they touch; through 2 layers and the output projection the
// logits' relative error (||gpu - cpu|| / ||cpu||) stays within a small
// multiple of that: BF16_BOUND = 3e-2 (about 15 unit roundoffs) is stated here
// and checked on every fixture; the measured values are printed.
import * as assert from 'assert';
import { Engine, EngineError, Model } from '../server/src/engine';
import { CompactCache, KeptHead } from '../server/src/engine/compact-cache';
import { fixtureMatrix, promptTokens, tinyModelName, tinyModelSpec, TinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { collect, rejectsWith } from './helpers/async-helpers';
import { argmax, relativeError, rowOf } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';

const BF16_BOUND = 3e-2;
// Positions SnapKV keeps on both backends: the scores differ by bf16
// roundings, so positions whose pooled scores nearly tie may swap.
const KEPT_AGREEMENT = 0.9;
const PROMPT = 203;
const DECODE_STEPS = 16;

/** Share of kept positions common to both, over every layer and head. */
function keptAgreement(a: KeptHead[][], b: KeptHead[][]): number {
  assert.strictEqual(a.length, b.length, 'layer counts differ');
  let same = 0;
  let total = 0;
  a.forEach((layer, l) => {
    assert.strictEqual(layer.length, b[l].length, `layer ${l}: head counts differ`);
    layer.forEach((head, h) => {
      const other = new Set(b[l][h].positions);
      assert.strictEqual(head.positions.length, b[l][h].positions.length, `layer ${l} head ${h}: kept counts differ`);
      for (const p of head.positions) if (other.has(p)) same++;
      total += head.positions.length;
    });
  });
  return same / total;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<EngineError> {
  const error = await rejectsWith(promise, EngineError);
  assert.strictEqual(error.code, code, error.message);
  return error;
}

describe('CUDA backend against the CPU backend', function () {
  this.timeout(20 * 60_000);
  const tempDir = useTempDir('gpu-model');

  before(function () {
    const cuda = Engine.buildInfo().cuda;
    if (!cuda.usable) {
      const why = cuda.compiled ? cuda.message : 'this build has no CUDA kernels (nvcc was not found when it was built)';
      console.log(`      SKIPPED: no usable GPU: ${why}`);
      this.skip();
    }
  });

  async function loadBoth(spec: TinyModelSpec, gpuOptions: Parameters<typeof Engine.load>[1] = {}): Promise<[Model, Model]> {
    const fixture = writeTinyModel(spec, tempDir());
    const gpu = await Engine.load(fixture.path, { backend: 'cuda', ...gpuOptions });
    const cpu = await Engine.load(fixture.path, { backend: 'cpu' });
    return [gpu, cpu];
  }

  const headDim128 = tinyModelSpec({ arch: 'qwen2', weightType: 'BF16', hidden: 256, heads: 2, kvHeads: 1, ffn: 512 });
  for (const spec of [...fixtureMatrix(), headDim128]) {
    it(`${tinyModelName(spec)}: logits of a prefill and of decode steps within the bf16 bound`, async () => {
      const [gpu, cpu] = await loadBoth(spec);
      try {
        assert.strictEqual(gpu.info.backend, 'cuda');
        assert.ok((gpu.info.deviceWeightBytes ?? 0) > 0);
        const memory = gpu.gpuMemory();
        assert.ok(memory && memory.inUse >= memory.weightBytes && memory.budget > memory.inUse && memory.name.length > 0);
        const prompt = promptTokens(PROMPT, spec.seed);
        const onGpu = await gpu.prefill(prompt, { logits: 'all' });
        const onCpu = await cpu.prefill(prompt, { logits: 'all' });
        const vocab = gpu.info.vocab;
        assert.ok(onGpu.logits && onCpu.logits);
        let worst = 0;
        for (let row = 0; row < PROMPT; row++) {
          worst = Math.max(worst, relativeError(rowOf(onGpu.logits, row, vocab), rowOf(onCpu.logits, row, vocab)));
        }
        let worstDecode = 0;
        let next = argmax(rowOf(onCpu.logits, PROMPT - 1, vocab));
        for (let step = 0; step < DECODE_STEPS; step++) {
          const a = await onGpu.extend([next]);
          const b = await onCpu.extend([next]);
          assert.ok(a && b);
          worstDecode = Math.max(worstDecode, relativeError(a, b));
          next = argmax(b);
        }
        console.log(`      relative error: prefill ${worst.toExponential(2)}, decode ${worstDecode.toExponential(2)}`);
        assert.ok(worst < BF16_BOUND, `prefill relative error ${worst} >= ${BF16_BOUND}`);
        assert.ok(worstDecode < BF16_BOUND, `decode relative error ${worstDecode} >= ${BF16_BOUND}`);
        const stats = onGpu.stats();
        assert.strictEqual(stats.placement, 'device');
        assert.ok(stats.deviceBytes > 0);
        assert.strictEqual(stats.hostBytes, 0);
        onGpu.dispose();
        onCpu.dispose();
      } finally {
        gpu.dispose();
        cpu.dispose();
      }
    });
  }

  const snapSpec = tinyModelSpec({ arch: 'qwen2', weightType: 'F16', seed: 3 });
  for (const options of [
    { window: 16, budget: 128 },
    { window: 8, budget: 96, pooling: 'avg' as const, gqa: 'repeat' as const, kernel: 5 },
  ]) {
    it(`SnapKV keeps the positions the CPU keeps except at near-ties (${JSON.stringify(options)})`, async () => {
      const [gpu, cpu] = await loadBoth(snapSpec);
      try {
        const prompt = promptTokens(700, 11);
        const question = promptTokens(24, 12);
        const [pg, pc] = [await gpu.prefill(prompt), await cpu.prefill(prompt)];
        const [cg, cc] = [await pg.query(question, options), await pc.query(question, options)];
        const share = keptAgreement(cg.kept(), cc.kept());
        console.log(`      kept positions in common: ${(share * 100).toFixed(2)}%`);
        assert.ok(share >= KEPT_AGREEMENT, `only ${(share * 100).toFixed(1)}% of kept positions agree`);
        for (const layer of cg.kept()) {
          for (const head of layer) {
            assert.strictEqual(head.positions.length, options.budget);
            for (let i = 1; i < head.positions.length; i++) assert.ok(head.positions[i] > head.positions[i - 1]);
            const windowStart = prompt.length + question.length - options.window;
            assert.deepStrictEqual(Array.from(head.positions.slice(-options.window)), Array.from({ length: options.window }, (_, i) => windowStart + i));
          }
        }
        const error = relativeError(cg.lastLogits() ?? [], cc.lastLogits() ?? []);
        assert.ok(error < BF16_BOUND, `logits after the question: relative error ${error}`);
        assert.strictEqual(cg.stats().placement, 'device');
        assert.strictEqual(cg.stats().nextPosition, prompt.length + question.length);
      } finally {
        gpu.dispose();
        cpu.dispose();
      }
    });
  }

  it('a question shorter than the window runs the prefix tokens of the window again, as on the CPU', async () => {
    const [gpu, cpu] = await loadBoth(snapSpec);
    try {
      const prompt = promptTokens(600, 61);
      const question = promptTokens(5, 62);
      const options = { window: 16, budget: 128 };
      const cg = await (await gpu.prefill(prompt)).query(question, options);
      const cc = await (await cpu.prefill(prompt)).query(question, options);
      const share = keptAgreement(cg.kept(), cc.kept());
      assert.ok(share >= KEPT_AGREEMENT, `kept positions in common ${share}`);
      assert.ok(relativeError(cg.lastLogits() ?? [], cc.lastLogits() ?? []) < BF16_BOUND);
      assert.strictEqual(cg.stats().nextPosition, 605);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('one-shot over more rows than a chunk, the last chunk a single row inside the window', async () => {
    const [gpu, cpu] = await loadBoth(snapSpec);
    try {
      const prompt = promptTokens(2049, 71); // chunks of 2048 rows, then 1 (the matrix-vector path)
      const options = { window: 16, budget: 256 };
      const g = await gpu.compressOneShot(prompt, options);
      const c = await cpu.compressOneShot(prompt, options);
      const share = keptAgreement(g.kept(), c.kept());
      console.log(`      kept positions in common: ${(share * 100).toFixed(2)}%`);
      assert.ok(share >= KEPT_AGREEMENT);
      assert.ok(relativeError(g.lastLogits() ?? [], c.lastLogits() ?? []) < BF16_BOUND);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('generates from several compact caches of one prefix at once, each as it would alone', async () => {
    const [gpu, cpu] = await loadBoth(snapSpec);
    try {
      const prefix = await gpu.prefill(promptTokens(500, 5));
      const questions = [promptTokens(20, 6), promptTokens(30, 7)];
      const alone: number[][] = [];
      for (const q of questions) {
        const compact = await prefix.query(q, { window: 16, budget: 64 });
        alone.push(await collect(compact.generate({ maxTokens: 24 })));
        compact.dispose();
      }
      const together: CompactCache[] = await Promise.all(questions.map((q) => prefix.query(q, { window: 16, budget: 64 })));
      const streams = await Promise.all(together.map((c) => collect(c.generate({ maxTokens: 24 }))));
      assert.deepStrictEqual(streams, alone);
      for (const s of streams) assert.strictEqual(s.length, 24);
      together[0].dispose();
      const after = await collect(together[1].generate({ maxTokens: 4 }));
      assert.strictEqual(after.length, 4, 'disposing one compact cache leaves the other working');
      assert.strictEqual(prefix.stats().tokens, 500, 'questions leave the prefix untouched');
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('a prompt cache in pinned host memory answers as one on the GPU', async () => {
    const fixture = writeTinyModel(snapSpec, tempDir());
    const onDevice = await Engine.load(fixture.path, { backend: 'cuda' });
    const inHost = await Engine.load(fixture.path, { backend: 'cuda', prefixInHostMemory: true });
    try {
      const prompt = promptTokens(900, 21);
      const question = promptTokens(20, 22);
      const a = await onDevice.prefill(prompt);
      const b = await inHost.prefill(prompt);
      assert.strictEqual(a.stats().placement, 'device');
      assert.strictEqual(b.stats().placement, 'pinned-host');
      assert.ok(b.stats().hostBytes > 0 && b.stats().deviceBytes === 0);
      // The same kernels on the same values: only where the keys and values wait differs.
      const ca = await a.query(question, { window: 16, budget: 128 });
      const cb = await b.query(question, { window: 16, budget: 128 });
      assert.strictEqual(keptAgreement(ca.kept(), cb.kept()), 1);
      const error = relativeError(ca.lastLogits() ?? [], cb.lastLogits() ?? []);
      assert.ok(error < 1e-6, `host-held prefix: relative error ${error}`);
      assert.deepStrictEqual(await collect(cb.generate({ maxTokens: 12 })), await collect(ca.generate({ maxTokens: 12 })));
      // Extending a host-held prefix writes each layer's new entries back to host memory.
      const grown = await inHost.prefill(prompt.slice(0, 400));
      await grown.extend(prompt.slice(400));
      const cg = await grown.query(question, { window: 16, budget: 128 });
      const share = keptAgreement(ca.kept(), cg.kept());
      assert.ok(share >= KEPT_AGREEMENT, `extended host prefix keeps ${share}`);
      assert.ok(relativeError(ca.lastLogits() ?? [], cg.lastLogits() ?? []) < BF16_BOUND);
    } finally {
      onDevice.dispose();
      inHost.dispose();
    }
  });

  it('one-shot mode on the GPU keeps what prefill-then-query keeps', async () => {
    const [gpu, cpu] = await loadBoth(snapSpec);
    try {
      const prompt = promptTokens(800, 31);
      const question = promptTokens(20, 32);
      const options = { window: 16, budget: 128 };
      const viaPrefix = await (await gpu.prefill(prompt)).query(question, options);
      const oneShot = await gpu.compressOneShot([...prompt, ...question], options);
      const cpuOneShot = await cpu.compressOneShot([...prompt, ...question], options);
      assert.strictEqual(keptAgreement(oneShot.kept(), viaPrefix.kept()), 1, 'the same computation on the same device');
      const share = keptAgreement(oneShot.kept(), cpuOneShot.kept());
      console.log(`      one-shot kept positions in common with the CPU: ${(share * 100).toFixed(2)}%`);
      assert.ok(share >= KEPT_AGREEMENT);
      assert.ok(relativeError(oneShot.lastLogits() ?? [], cpuOneShot.lastLogits() ?? []) < BF16_BOUND);
      assert.strictEqual((await collect(oneShot.generate({ maxTokens: 8 }))).length, 8);
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('saves a prompt cache from the GPU that the CPU backend loads, and back', async () => {
    const [gpu, cpu] = await loadBoth(snapSpec);
    try {
      const prompt = promptTokens(300, 41);
      const file = `${tempDir()}/prefix.snapkv`;
      const onGpu = await gpu.prefill(prompt);
      await onGpu.save(file);
      const onCpu = await cpu.loadPrefix(file);
      const backOnGpu = await gpu.loadPrefix(file);
      const question = promptTokens(16, 42);
      const options = { window: 8, budget: 64 };
      const fromCpu = await onCpu.query(question, options);
      const fromGpu = await backOnGpu.query(question, options);
      const direct = await onGpu.query(question, options);
      assert.ok(relativeError(fromCpu.lastLogits() ?? [], direct.lastLogits() ?? []) < BF16_BOUND);
      assert.ok(relativeError(fromGpu.lastLogits() ?? [], direct.lastLogits() ?? []) < 1e-5, 'bf16 values survive the f32 file exactly');
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });

  it('reports out of memory with the sizes, and keeps working after it', async () => {
    const fixture = writeTinyModel(snapSpec, tempDir());
    const tooSmall = await rejectsWithCode(Engine.load(fixture.path, { backend: 'cuda', gpuMemoryBytes: 1 << 20 }), 'OUT_OF_MEMORY');
    assert.match(tooSmall.message, /weights .* need [\d.]+ (MiB|KiB|GiB)/);
    const probe = await Engine.load(fixture.path, { backend: 'cuda' });
    const weights = probe.info.deviceWeightBytes ?? 0;
    probe.dispose();
    const tight = await Engine.load(fixture.path, { backend: 'cuda', gpuMemoryBytes: weights + 64 * (1 << 20) });
    try {
      // One layer of a 400k-token prompt (hidden states, keys and values) is far past 64 MiB.
      const huge = promptTokens(400_000, 51);
      const error = await rejectsWithCode(tight.compressOneShot(huge, { budget: 256 }), 'OUT_OF_MEMORY');
      assert.match(error.message, /MiB|GiB/);
      assert.match(error.message, /the longest prompt that fits is \d+ tokens/);
      // The plan and the allocations agree: the longest planned prompt runs, one token more is refused.
      const plan = tight.planOneShot(400_000, { budget: 256 });
      assert.ok(plan && !(plan.bytesNeeded <= plan.bytesAvailable));
      assert.ok(plan.longestPrompt > 1000 && plan.longestPrompt < 400_000, `longest ${plan.longestPrompt}`);
      const longest = await tight.compressOneShot(huge.slice(0, plan.longestPrompt), { budget: 256 });
      assert.strictEqual(longest.promptLength, plan.longestPrompt);
      longest.dispose();
      await rejectsWithCode(tight.compressOneShot(huge.slice(0, plan.longestPrompt + 1), { budget: 256 }), 'OUT_OF_MEMORY');
      const fine = await tight.prefill(promptTokens(100, 52));
      assert.strictEqual(fine.stats().tokens, 100);
      assert.ok(fine.logits === null || fine.logits.length === tight.info.vocab);
      fine.dispose();
    } finally {
      tight.dispose();
    }
  });
});
