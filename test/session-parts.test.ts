// The session's parts on their own: the question scheduler,
// context maps, settings, and finding models where Ollama and LM Studio keep them.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { buildContextMap } from '../server/src/session/context-map';
import { findLocalModels } from '../server/src/session/model-search';
import { QuestionScheduler, Turn, WorkItem } from '../server/src/session/question-scheduler';
import { resolveSettings } from '../server/src/session/settings';
import { useTempDir } from './helpers/temp-dir';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('session parts', () => {
  const tempDir = useTempDir('session-parts');

  describe('question scheduler', () => {
    /** Starts an item whose turn lasts until `finish` is called; `started` settles when it is admitted. */
    function hold(scheduler: QuestionScheduler, item: WorkItem, order: string[], name: string) {
      let finish!: () => void;
      let turn!: Turn;
      const ended = new Promise<void>((resolve) => (finish = resolve));
      let admitted!: () => void;
      const started = new Promise<void>((resolve) => (admitted = resolve));
      const done = scheduler.run(item, async (t) => {
        order.push(name);
        turn = t;
        admitted();
        await ended;
        return name;
      });
      return { started, done, finish: () => finish(), doneReading: () => turn.doneReading() };
    }

    it('runs questions together while they fit, queues the rest in order, and runs an oversized one alone', async () => {
      const scheduler = new QuestionScheduler(100);
      const order: string[] = [];
      const a = hold(scheduler, { kind: 'question', bytes: 60 }, order, 'a');
      const b = hold(scheduler, { kind: 'question', bytes: 30 }, order, 'b');
      const c = hold(scheduler, { kind: 'question', bytes: 50 }, order, 'c');
      const d = hold(scheduler, { kind: 'question', bytes: 5 }, order, 'd');
      await tick();
      assert.deepStrictEqual(order, ['a', 'b'], 'b fits beside a; c does not, and d waits behind c');
      assert.strictEqual(scheduler.waitingCount, 2);
      assert.strictEqual(scheduler.bytesInUse, 90);
      a.finish();
      await tick();
      assert.deepStrictEqual(order, ['a', 'b', 'c', 'd']);
      for (const q of [b, c, d]) q.finish();
      assert.deepStrictEqual(await Promise.all([a.done, b.done, c.done, d.done]), ['a', 'b', 'c', 'd']);
      assert.strictEqual(scheduler.bytesInUse, 0);
      assert.strictEqual(scheduler.questionsRunning, 0);
      const huge = hold(scheduler, { kind: 'question', bytes: 1000 }, order, 'huge');
      await huge.started;
      assert.strictEqual(scheduler.questionsRunning, 1, 'a question over the limit still runs when alone');
      huge.finish();
      await huge.done;
    });

    it('drops a waiting item whose signal aborts, and tells a waiting item that it waits', async () => {
      const scheduler = new QuestionScheduler(10);
      const order: string[] = [];
      const held = hold(scheduler, { kind: 'question', bytes: 10 }, order, 'held');
      const controller = new AbortController();
      let queued = 0;
      const waiting = scheduler.run({ kind: 'question', bytes: 5, signal: controller.signal, onQueued: () => queued++ }, async () => 'ran');
      const behind = hold(scheduler, { kind: 'question', bytes: 5 }, order, 'behind');
      await tick();
      assert.strictEqual(queued, 1);
      controller.abort(new Error('stop'));
      await assert.rejects(waiting, /stop/);
      assert.strictEqual(scheduler.waitingCount, 1, 'the aborted item left the queue');
      held.finish();
      await behind.started;
      behind.finish();
      await Promise.all([held.done, behind.done]);
      await assert.rejects(scheduler.run({ kind: 'question', bytes: NaN }, async () => 'ran'), /number of bytes, not NaN/);
      assert.throws(() => new QuestionScheduler(NaN), /positive number of bytes/);
    });

    it('ends the turn of a running item when its work fails on its signal', async () => {
      const scheduler = new QuestionScheduler(10);
      const controller = new AbortController();
      const running = scheduler.run({ kind: 'question', bytes: 10, signal: controller.signal }, () => {
        return new Promise<string>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason)));
      });
      const next = scheduler.run({ kind: 'update' }, async () => 'updated');
      await tick();
      assert.strictEqual(scheduler.questionsRunning, 1);
      controller.abort(new Error('cancelled'));
      await assert.rejects(running, /cancelled/);
      assert.strictEqual(await next, 'updated');
      assert.strictEqual(scheduler.bytesInUse, 0);
    });

    it('lets readers share, makes a writer wait for them, and holds new readers behind a waiting writer', async () => {
      const scheduler = new QuestionScheduler(1000);
      const order: string[] = [];
      const r1 = hold(scheduler, { kind: 'question', bytes: 1 }, order, 'r1');
      const r2 = hold(scheduler, { kind: 'save' }, order, 'r2');
      const writer = hold(scheduler, { kind: 'update' }, order, 'write');
      const r3 = hold(scheduler, { kind: 'question', bytes: 1 }, order, 'r3');
      await tick();
      assert.deepStrictEqual(order, ['r1', 'r2']);
      r1.finish();
      r2.finish();
      await writer.started;
      await tick();
      assert.deepStrictEqual(order, ['r1', 'r2', 'write'], 'no reader beside a writer');
      writer.finish();
      await r3.started;
      r3.finish();
      await Promise.all([r1.done, r2.done, writer.done, r3.done]);
    });

    it('lets a writer in once a question is done reading the prefix, while the question keeps its memory', async () => {
      const scheduler = new QuestionScheduler(10);
      const order: string[] = [];
      const question = hold(scheduler, { kind: 'question', bytes: 10 }, order, 'question');
      const close = hold(scheduler, { kind: 'close' }, order, 'close');
      const second = hold(scheduler, { kind: 'question', bytes: 10 }, order, 'second');
      await question.started;
      await tick();
      assert.deepStrictEqual(order, ['question']);
      question.doneReading();
      await close.started;
      assert.strictEqual(scheduler.bytesInUse, 10, 'the compact cache is still held');
      close.finish();
      await tick();
      assert.deepStrictEqual(order, ['question', 'close'], 'the second question waits for memory');
      question.finish();
      await second.started;
      second.finish();
      await Promise.all([question.done, close.done, second.done]);
    });
  });

  describe('context map', () => {
    it('counts kept positions per file and line, groups near lines into ranges, ranks files, and keeps header tokens out of ranges', () => {
      const where: Record<number, { path: string; line: number } | undefined> = {
        0: undefined, // chat template head
        1: { path: 'a.ts', line: 0 },
        2: { path: 'a.ts', line: 1 },
        3: { path: 'a.ts', line: 2 },
        4: { path: 'a.ts', line: 9 },
        5: { path: 'b.ts', line: 4 },
        6: undefined, // the question
      };
      const locator = { locate: (t: number) => where[t] };
      const kept = [[{ positions: Int32Array.from([0, 1, 2, 3, 5, 6]) }, { positions: Int32Array.from([2, 4, 6]) }]];
      const map = buildContextMap('r', 'q?', kept, locator);
      assert.strictEqual(map.keptTotal, 9);
      assert.strictEqual(map.keptOutsideFiles, 3);
      assert.deepStrictEqual(
        map.files.map((f) => [f.path, f.kept, f.share]),
        [
          ['a.ts', 5, 5 / 6],
          ['b.ts', 1, 1 / 6],
        ],
      );
      assert.deepStrictEqual(map.files[0].ranges, [
        { startLine: 1, endLine: 2, kept: 3 },
        { startLine: 9, endLine: 9, kept: 1 },
      ]);
    });
  });

  describe('settings', () => {
    it('fills defaults and names the bad setting', () => {
      const s = resolveSettings({});
      assert.deepStrictEqual(s.snapkv, { window: 32, budget: 2048, kernel: 7, pooling: 'max' });
      assert.strictEqual(s.backend, 'auto');
      assert.throws(() => resolveSettings({ snapkv: { kernel: 6 } }), /snapkv\.kernel must be odd/);
      assert.throws(() => resolveSettings({ snapkv: { budget: 16 } }), /snapkv\.budget \(16\) must be at least snapkv\.window \(32\)/);
      assert.throws(() => resolveSettings({ snapkv: { window: 0 } }), /snapkv\.window must be a positive whole number/);
      assert.throws(() => resolveSettings({ backend: 'tpu' as never }), /backend must be 'auto', 'cuda' or 'cpu'/);
      assert.throws(() => resolveSettings({ include: 'src/**' as never }), /include must be a list of glob patterns/);
      const changed = resolveSettings({ snapkv: { budget: 512 } }, s);
      assert.strictEqual(changed.snapkv.budget, 512);
      assert.strictEqual(changed.snapkv.window, 32);
    });

    it('reads the GPU and host memory limits in GiB and the host-memory prefix switch, kept across changes', () => {
      const s = resolveSettings({});
      assert.strictEqual(s.gpuMemoryBytes, 0);
      assert.strictEqual(s.prefixInHostMemory, false);
      const gpu = resolveSettings({ gpuMemoryGiB: 1.5, prefixInHostMemory: true }, s);
      assert.strictEqual(gpu.gpuMemoryBytes, 1.5 * 1024 ** 3);
      assert.strictEqual(gpu.prefixInHostMemory, true);
      const later = resolveSettings({ snapkv: { budget: 512 } }, gpu);
      assert.strictEqual(later.gpuMemoryBytes, 1.5 * 1024 ** 3);
      assert.strictEqual(later.prefixInHostMemory, true);
      assert.throws(() => resolveSettings({ gpuMemoryGiB: -1 }), /gpuMemoryGiB must be a number of GiB, 0 or more/);
      assert.throws(() => resolveSettings({ prefixInHostMemory: 'yes' as never }), /prefixInHostMemory must be true or false/);
      assert.strictEqual(s.hostMemoryBytes, 0);
      assert.strictEqual(resolveSettings({ hostMemoryGiB: 0.5 }, s).hostMemoryBytes, 512 * 1024 ** 2);
      assert.strictEqual(resolveSettings({}, resolveSettings({ hostMemoryGiB: 2 })).hostMemoryBytes, 2 * 1024 ** 3);
      assert.throws(() => resolveSettings({ hostMemoryGiB: -1 }), /hostMemoryGiB must be a number of GiB, 0 or more/);
      assert.strictEqual(s.exact, false, 'the fast CPU products by default');
      assert.strictEqual(resolveSettings({ exact: true }, s).exact, true);
      assert.strictEqual(resolveSettings({}, resolveSettings({ exact: true }, s)).exact, true, 'kept from the base');
      assert.throws(() => resolveSettings({ exact: 'yes' as never }), /exact must be true or false/);
    });

    it('reads the KV cache type and thread count, left to the engine when unset and kept across changes', () => {
      const s = resolveSettings({});
      assert.strictEqual(s.kvType, undefined);
      assert.strictEqual(s.threads, 0);
      const set = resolveSettings({ kvType: 'bf16', threads: 3 }, s);
      const later = resolveSettings({ snapkv: { budget: 512 } }, set);
      assert.strictEqual(later.kvType, 'bf16');
      assert.strictEqual(later.threads, 3);
      assert.throws(() => resolveSettings({ kvType: 'f8' as never }), /kvType must be 'f16', 'bf16', 'q8_0', 'f32', not "f8"/);
      assert.throws(() => resolveSettings({ threads: -2 }), /threads must be a whole number, 0 \(every core\) or more/);
    });
  });

  describe('model search', () => {
    it('finds Ollama models through their manifests and LM Studio models by folder, skipping what is not GGUF', () => {
      const ollama = path.join(tempDir(), 'ollama');
      const digest = 'a'.repeat(64);
      fs.mkdirSync(path.join(ollama, 'blobs'), { recursive: true });
      fs.writeFileSync(path.join(ollama, 'blobs', `sha256-${digest}`), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60)]));
      const manifestDir = path.join(ollama, 'manifests', 'registry.ollama.ai', 'library', 'qwen2.5-coder');
      fs.mkdirSync(manifestDir, { recursive: true });
      fs.writeFileSync(
        path.join(manifestDir, '1.5b'),
        JSON.stringify({ layers: [{ mediaType: 'application/vnd.ollama.image.template', digest: 'sha256:x' }, { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${digest}` }] }),
      );
      const lm = path.join(tempDir(), 'lmstudio');
      fs.mkdirSync(path.join(lm, 'Qwen', 'Coder-GGUF'), { recursive: true });
      fs.writeFileSync(path.join(lm, 'Qwen', 'Coder-GGUF', 'coder-q8_0.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(10)]));
      fs.writeFileSync(path.join(lm, 'Qwen', 'Coder-GGUF', 'mmproj-coder.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(10)]));
      fs.writeFileSync(path.join(lm, 'Qwen', 'Coder-GGUF', 'broken.gguf'), 'not a model');
      const found = findLocalModels({ ollama: [ollama], lmStudio: [lm, path.join(tempDir(), 'missing')] });
      assert.deepStrictEqual(
        found.map((m) => [m.source, m.name]),
        [
          ['ollama', 'qwen2.5-coder:1.5b'],
          ['lm-studio', 'Qwen/Coder-GGUF/coder-q8_0.gguf'],
        ],
      );
    });
  });
});
