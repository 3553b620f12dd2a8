// The engine's TypeScript surface: generation and sampling, cancellation,
// progress, work off the JavaScript thread and off libuv's pool, one operation per cache, dispose,
// and backend choice.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { AbortError, Engine, EngineError, Model } from '../server/src/engine';
import { promptTokens, tinyModelSpec, writeTinyModel, WrittenTinyModel } from './fixtures/tiny-models';
import { collect, rejectsWith } from './helpers/async-helpers';
import { argmax } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';
import { ReferenceForward } from './reference/forward64';

describe('engine API', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('api');
  let fixture: WrittenTinyModel;
  let model: Model;

  before(async () => {
    fixture = writeTinyModel(tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true }), tempDir());
    model = await Engine.load(fixture.path, { backend: 'cpu', threads: 2, kvType: 'f32', exact: true });
  });
  after(() => model.dispose());

  describe('info and metadata', () => {
    it('describes the model from its GGUF metadata', () => {
      const { info } = model;
      assert.strictEqual(info.architecture, 'qwen2');
      assert.strictEqual(info.layers, fixture.config.layers);
      assert.strictEqual(info.heads, fixture.config.heads);
      assert.strictEqual(info.kvHeads, fixture.config.kvHeads);
      assert.strictEqual(info.headDim, fixture.config.headDim);
      assert.strictEqual(info.vocab, fixture.config.vocab);
      assert.strictEqual(info.contextLength, fixture.config.contextLength);
      assert.strictEqual(info.ropeFreqBase, fixture.config.ropeBase);
      assert.strictEqual(info.qkvBias, true);
      assert.strictEqual(info.backend, 'cpu');
      assert.strictEqual(info.threads, 2);
      assert.ok(info.tensorTypes.Q8_0 > 0 && info.tensorTypes.F32 > 0);
    });

    it('hands over the tokenizer metadata', () => {
      assert.strictEqual(model.metadata('tokenizer.ggml.model'), 'gpt2');
      assert.strictEqual(model.metadata('tokenizer.ggml.pre'), 'qwen2');
      const tokens = model.metadata('tokenizer.ggml.tokens');
      assert.ok(Array.isArray(tokens) && tokens.length === fixture.config.vocab);
      assert.strictEqual(model.metadata('no.such.key'), undefined);
      assert.ok('general.architecture' in model.metadata());
    });
  });

  describe('generate', () => {
    it('greedy decoding follows the reference argmax and keeps what it generated in the cache', async () => {
      const prompt = promptTokens(40, 3);
      const reference = new ReferenceForward(fixture.config, fixture.weights);
      let logits = reference.forward(prompt);
      const expected: number[] = [];
      for (let i = 0; i < 12; i++) {
        expected.push(argmax(logits));
        logits = reference.step(expected[i]);
      }
      const prefix = await model.prefill(prompt);
      const produced = await collect(prefix.generate({ maxTokens: 12 }));
      assert.deepStrictEqual(produced, expected);
      assert.strictEqual(prefix.length, prompt.length + 12);
      prefix.dispose();
    });

    it('stops at a stop token without yielding it', async () => {
      const prompt = promptTokens(20, 4);
      const prefix = await model.prefill(prompt);
      const free = await collect(prefix.generate({ maxTokens: 6 }));
      prefix.dispose();
      const again = await model.prefill(prompt);
      const stopped = await collect(again.generate({ maxTokens: 6, stop: [free[3]] }));
      assert.deepStrictEqual(stopped, free.slice(0, free.indexOf(free[3])));
      again.dispose();
    });

    it('sampling is reproducible for a seed and varies across seeds', async () => {
      const prompt = promptTokens(16, 5);
      const run = async (seed: number): Promise<number[]> => {
        const prefix = await model.prefill(prompt);
        try {
          return await collect(prefix.generate({ maxTokens: 10, temperature: 1.5, seed }));
        } finally {
          prefix.dispose();
        }
      };
      const a = await run(1);
      assert.deepStrictEqual(await run(1), a);
      const others = await Promise.all([2, 3, 4].map(run));
      assert.ok(others.some((o) => o.join() !== a.join()), 'three other seeds all gave the same tokens');
    });

    it('top-k 1 and a tiny top-p are greedy whatever the temperature', async () => {
      const prompt = promptTokens(16, 6);
      const greedy = await model.prefill(prompt);
      const expected = await collect(greedy.generate({ maxTokens: 5 }));
      greedy.dispose();
      for (const options of [{ topK: 1 }, { topP: 1e-6 }]) {
        const prefix = await model.prefill(prompt);
        assert.deepStrictEqual(await collect(prefix.generate({ maxTokens: 5, temperature: 5, seed: 9, ...options })), expected);
        prefix.dispose();
      }
    });

    it('sampled tokens follow the softmax of the logits at the temperature', async () => {
      const prompt = promptTokens(8, 7);
      const prefix = await model.prefill(prompt, { capacity: prompt.length + 1 });
      const logits = prefix.lastLogits()!;
      prefix.dispose();
      // top-k 4 at temperature 2: four candidates with known probabilities.
      const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 4);
      const weights = order.map((id) => Math.exp((logits[id] - logits[order[0]]) / 2));
      const total = weights.reduce((s, w) => s + w, 0);
      const counts = new Map<number, number>();
      const draws = 400;
      for (let seed = 0; seed < draws; seed++) {
        const p = await model.prefill(prompt, { capacity: prompt.length + 1 });
        const [token] = await collect(p.generate({ maxTokens: 1, temperature: 2, topK: 4, seed }));
        counts.set(token, (counts.get(token) ?? 0) + 1);
        p.dispose();
      }
      for (const id of counts.keys()) assert.ok(order.includes(id), `token ${id} is outside the top 4`);
      order.forEach((id, i) => {
        const expected = (weights[i] / total) * draws;
        const observed = counts.get(id) ?? 0;
        // Five standard deviations of a binomial count.
        const sd = Math.sqrt(draws * (weights[i] / total) * (1 - weights[i] / total));
        assert.ok(Math.abs(observed - expected) <= 5 * sd + 1, `token ${id}: ${observed} draws, expected ${expected.toFixed(1)}`);
      });
    });

    it('rejects bad sampling options with a clear message', async () => {
      const prefix = await model.prefill([1, 2, 3]);
      await rejectsWith(collect(prefix.generate({ temperature: -1 })), EngineError, /temperature/);
      await rejectsWith(collect(prefix.generate({ topP: 0 })), EngineError, /topP/);
      await rejectsWith(collect(prefix.generate({ topK: -2 })), EngineError, /topK/);
      prefix.dispose();
    });

    it('a full cache stops generation with an error that says what to do', async () => {
      const prefix = await model.prefill([1, 2, 3], { capacity: 5 });
      const error = await rejectsWith(collect(prefix.generate({ maxTokens: 10 })), EngineError, /larger capacity/);
      assert.strictEqual(error.code, 'CAPACITY_EXCEEDED');
      prefix.dispose();
    });
  });

  describe('long work', () => {
    const longPrompt = promptTokens(3000, 8);

    it('runs off the JavaScript thread and reports progress', async () => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const reports: number[] = [];
      try {
        const prefix = await model.prefill(longPrompt, {
          chunkTokens: 128,
          onProgress: (p) => {
            reports.push(p.tokensDone);
            assert.strictEqual(p.tokensTotal, longPrompt.length);
            assert.ok(p.tokensPerSecond > 0);
          },
        });
        prefix.dispose();
      } finally {
        clearInterval(timer);
      }
      assert.ok(ticks > 5, `the event loop ran only ${ticks} timers during the prefill`);
      // Give queued progress callbacks a turn.
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(reports.length >= 10, `only ${reports.length} progress reports`);
      assert.deepStrictEqual(reports, [...reports].sort((a, b) => a - b));
      assert.strictEqual(reports[reports.length - 1], longPrompt.length);
    });

    it("leaves libuv's thread pool to file I/O: with one pool thread, a file read made during a prefill ends first", async () => {
      // The server's file reads (packing a workspace) share that pool; an engine call there would hold them for minutes.
      const child = path.join(__dirname, 'helpers', 'pool-read-child.js');
      const { stdout } = await promisify(execFile)(process.execPath, [child, fixture.path, String(longPrompt.length)], {
        env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
      });
      const { ended } = JSON.parse(stdout.trim()) as { ended: string[] };
      assert.deepStrictEqual(ended, ['read', 'prefill']);
    });

    it('an aborted prefill rejects with AbortError and leaves the model usable', async () => {
      const controller = new AbortController();
      const started = model.prefill(longPrompt, {
        chunkTokens: 64,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.tokensDone >= 256) controller.abort();
        },
      });
      await rejectsWith(started, AbortError);
      const prefix = await model.prefill([1, 2, 3]);
      assert.strictEqual(prefix.length, 3);
      prefix.dispose();
    });

    it('an already aborted signal rejects at once', async () => {
      await rejectsWith(model.prefill([1, 2, 3], { signal: AbortSignal.abort() }), AbortError);
    });

    it('an aborted extend rolls the cache back to where it was', async () => {
      const prefix = await model.prefill([5, 6, 7]);
      const before = prefix.lastLogits()!;
      const controller = new AbortController();
      await rejectsWith(
        prefix.extend(longPrompt, { chunkTokens: 64, signal: controller.signal, onProgress: () => controller.abort() }),
        AbortError,
      );
      assert.strictEqual(prefix.length, 3);
      assert.deepStrictEqual(prefix.lastLogits(), before);
      prefix.dispose();
    });

    it('aborting generation stops the stream with AbortError', async () => {
      const prefix = await model.prefill([5, 6, 7]);
      const controller = new AbortController();
      const produced: number[] = [];
      await rejectsWith(
        (async () => {
          for await (const token of prefix.generate({ maxTokens: 50, signal: controller.signal })) {
            produced.push(token);
            if (produced.length === 3) controller.abort();
          }
        })(),
        AbortError,
      );
      assert.strictEqual(produced.length, 3);
      assert.strictEqual(prefix.length, 6, 'the three yielded tokens are in the cache');
      prefix.dispose();
    });
  });

  describe('ownership', () => {
    it('refuses a second operation on a cache while one runs', async () => {
      const prefix = await model.prefill([1, 2, 3]);
      const first = prefix.extend(promptTokens(500, 9));
      const error = await rejectsWith(prefix.extend([4]), EngineError, /in use/);
      assert.strictEqual(error.code, 'BUSY');
      await first;
      await prefix.extend([4]);
      prefix.dispose();
    });

    it('two caches of one model generate at the same time independently', async () => {
      const a = await model.prefill(promptTokens(30, 10));
      const b = await model.prefill(promptTokens(30, 11));
      const [ta, tb] = await Promise.all([collect(a.generate({ maxTokens: 8 })), collect(b.generate({ maxTokens: 8 }))]);
      const a2 = await model.prefill(promptTokens(30, 10));
      assert.deepStrictEqual(await collect(a2.generate({ maxTokens: 8 })), ta);
      const b2 = await model.prefill(promptTokens(30, 11));
      assert.deepStrictEqual(await collect(b2.generate({ maxTokens: 8 })), tb);
      for (const p of [a, b, a2, b2]) p.dispose();
    });

    it('a disposed cache or model says so', async () => {
      const other = await Engine.load(fixture.path, { backend: 'cpu' });
      const prefix = await other.prefill([1, 2]);
      prefix.dispose();
      await rejectsWith(prefix.extend([3]), EngineError, /disposed/);
      other.dispose();
      assert.ok(other.disposed);
      await rejectsWith(other.prefill([1]), EngineError, /disposed/);
    });

    it('rejects token ids outside the vocabulary', async () => {
      await rejectsWith(model.prefill([1, model.info.vocab]), EngineError, /vocabulary/);
      await rejectsWith(model.prefill([-1]), EngineError, /vocabulary/);
      await rejectsWith(model.prefill([]), EngineError, /no tokens/);
    });
  });

  describe('backend choice', () => {
    it('auto takes the CPU here and says why', async () => {
      const auto = await Engine.load(fixture.path);
      assert.strictEqual(auto.info.backend, 'cpu');
      assert.match(auto.info.backendReason, /CPU/);
      auto.dispose();
    });

    it('cuda without a usable device is refused with the reason', async function () {
      if (Engine.buildInfo().cuda.usable) this.skip();
      const error = await rejectsWith(Engine.load(fixture.path, { backend: 'cuda' }), EngineError, /CUDA/);
      assert.strictEqual(error.code, 'BACKEND_UNAVAILABLE');
      assert.match(error.message, /use backend 'cpu'/);
    });

    it('plans one-shot in host memory on the CPU backend, and reports GPU memory only on a GPU', () => {
      const plan = model.planOneShot(100_000, { budget: 256 });
      assert.ok(plan);
      assert.strictEqual(plan.memory, 'host memory');
      const { hiddenStates, layerKeysValues, selection, compactCache, working } = plan.parts;
      assert.strictEqual(plan.bytesNeeded, hiddenStates + layerKeysValues + selection + compactCache + working);
      // f32 hidden states, token ids and positions of every prompt token; one layer of the full cache's keys and values.
      assert.strictEqual(hiddenStates, 100_000 * (model.info.hidden * 4 + 8));
      assert.strictEqual(layerKeysValues, (100_000 * model.info.kvBytesPerToken) / model.info.layers);
      assert.ok(plan.bytesAvailable > 0 && plan.longestPrompt > 0);
      const longer = model.planOneShot(200_000, { budget: 256 });
      assert.ok(longer && longer.bytesNeeded > plan.bytesNeeded);
      assert.strictEqual(model.gpuMemory(), null);
    });

    it('refuses a negative GPU memory budget', async () => {
      const error = await rejectsWith(Engine.load(fixture.path, { gpuMemoryBytes: -1 }), EngineError, /gpuMemoryBytes/);
      assert.strictEqual(error.code, 'INVALID_ARGUMENT');
    });

    it('says where a cache lives: CPU memory, all of it host bytes', async () => {
      const prefix = await model.prefill(promptTokens(40, 3), { capacity: 64 });
      try {
        const stats = prefix.stats();
        assert.strictEqual(stats.placement, 'host');
        assert.strictEqual(stats.deviceBytes, 0);
        assert.strictEqual(stats.hostBytes, stats.capacityBytes);
        assert.ok(stats.usedBytes > 0 && stats.usedBytes < stats.capacityBytes);
      } finally {
        prefix.dispose();
      }
    });
  });
});
