// bench/gpu-bench.ts, the GPU benchmark's orchestrator: its options, the
// merging of a run split over several device calls, and whole runs in the
// CPU smoke mode (--backend cpu --quick) that a machine without a GPU can do.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { parseCudaVersion, parseNvccRelease } from '../bench/gpu/device-info';
import { parseLength, parseOptions } from '../bench/gpu/options';
import { GpuBenchReport, mergeReports, readReport } from '../bench/gpu/report';
import { randomTokens } from '../bench/gpu/tokens';
import { repoRoot } from '../bench/native-tools';
import { Deadline } from '../bench/gpu/deadline';
import { searchOneShot } from '../bench/gpu/one-shot';
import { OneShotSearch } from '../bench/gpu/results';
import { SHAPES } from '../bench/gpu/shapes';
import { CompactCache, Engine, EngineError, Model } from '../server/src/engine';
import { ProgramRun, runProgram } from './helpers/run-program';
import { useTempDir } from './helpers/temp-dir';

const SCRIPT = path.join(repoRoot(), 'out', 'bench', 'gpu-bench.js');

function runBench(args: readonly string[]): Promise<ProgramRun> {
  return runProgram(process.execPath, [SCRIPT, ...args], { timeoutMs: 120_000, maxBufferBytes: 16 * 1024 * 1024 });
}

describe('GPU benchmark harness (bench/gpu-bench.ts)', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('gpu-bench');

  describe('options', () => {
    it('defaults to the issue: both real shapes, 8K/32K/128K prefill, 16K/64K/128K decode, budgets 1024-4096, 7B one-shot from 128K', () => {
      const o = parseOptions([]);
      assert.strictEqual(o.backend, 'cuda');
      assert.deepStrictEqual(o.shapes, ['qwen2.5-coder-1.5b', 'qwen2.5-coder-7b']);
      assert.deepStrictEqual(o.prefillLengths, [8192, 32768, 131072]);
      assert.deepStrictEqual(o.decodeLengths, [16384, 65536, 131072]);
      assert.deepStrictEqual(o.budgets, [1024, 2048, 4096]);
      assert.strictEqual(o.ttftPrefix, 131072);
      assert.strictEqual(o.question, 64);
      assert.deepStrictEqual(o.oneShotShapes, ['qwen2.5-coder-7b']);
      assert.strictEqual(o.oneShotStart, 131072);
      assert.deepStrictEqual(o.sections, ['prefill', 'decode', 'ttft', 'oneshot', 'torch']);
      assert.match(o.outDir, /bench[/\\]results$/);
    });

    it('takes lengths as 8K / 1M, a quick preset, sections, and refuses what cannot run', () => {
      assert.strictEqual(parseLength('8K'), 8192);
      assert.strictEqual(parseLength('1M'), 1048576);
      assert.strictEqual(parseLength('300'), 300);
      assert.throws(() => parseLength('8G'), /not a length/);
      const quick = parseOptions(['--backend', 'cpu', '--quick', '--lengths', '1K,2K', '--no-torch']);
      assert.deepStrictEqual([quick.backend, quick.shapes, quick.prefillLengths, quick.decodeLengths], ['cpu', ['tiny'], [1024, 2048], [1024, 2048]]);
      assert.ok(!quick.sections.includes('torch'));
      assert.match(quick.outDir, /bench[/\\]tmp/);
      assert.deepStrictEqual(parseOptions(['--sections', 'oneshot,torch']).sections, ['oneshot', 'torch']);
      assert.throws(() => parseOptions(['--sections', 'speed']), /unknown section speed/);
      assert.throws(() => parseOptions(['--type', 'Q4_K']), /--type takes/);
      assert.throws(() => parseOptions(['--shapes', 'llama-70b']), /unknown shape/);
      assert.throws(() => parseOptions(['--question', '16']), /at least the SnapKV window/);
      assert.throws(() => parseOptions(['--decode-lengths', '64']), /longer than the question/);
      assert.throws(() => parseOptions(['--fast']), /unknown option --fast/);
    });

    it('reads the CUDA version and the compiler release from nvidia-smi and nvcc output', () => {
      assert.strictEqual(parseCudaVersion('| NVIDIA-SMI 580.159.04   Driver Version: 580.159.04   CUDA Version: 13.0     |'), '13.0');
      assert.strictEqual(parseCudaVersion('no banner'), undefined);
      assert.strictEqual(parseNvccRelease('Cuda compilation tools, release 13.0, V13.0.88\nBuild cuda_13.0'), '13.0 V13.0.88');
    });

    it('draws the same prompt for the same seed, inside the vocabulary', () => {
      const a = randomTokens(10_000, 2048, 3);
      assert.deepStrictEqual(a, randomTokens(10_000, 2048, 3));
      assert.notDeepStrictEqual(a, randomTokens(10_000, 2048, 4));
      assert.ok(a.every((t) => t >= 0 && t < 2048));
      assert.ok(new Set(a).size > 1500, 'ids do not spread over the vocabulary');
    });
  });

  describe('one-shot search', () => {
    /** A model whose one-shot mode fits prompts up to `fits` tokens, taking `ms` each. */
    function stubModel(fits: number, ms = 0): { model: Model; tried: number[] } {
      const tried: number[] = [];
      const compact = { stats: () => ({ usedBytes: 1000 }), dispose: () => undefined } as unknown as CompactCache;
      const model = {
        info: { vocab: 2048 },
        async compressOneShot(tokens: Int32Array): Promise<CompactCache> {
          tried.push(tokens.length);
          await new Promise((resolve) => setTimeout(resolve, ms));
          if (tokens.length > fits) throw new EngineError('OUT_OF_MEMORY', `not enough GPU memory for ${tokens.length} tokens`);
          return compact;
        },
        planOneShot: () => ({ bytesNeeded: 0, bytesAvailable: 0, longestPrompt: fits, parts: {} }),
      } as unknown as Model;
      return { model, tried };
    }
    const plan = (budgetSeconds: number | undefined, save?: () => void) => ({
      shape: SHAPES.tiny, start: 256, cap: 8192, budget: 128, window: 32, seed: 1, deadline: new Deadline(budgetSeconds), log: () => undefined, save,
    });
    const fresh = (): OneShotSearch => ({ shape: 'tiny', budget: 128, attempts: [], longestOk: 0, stoppedBy: 'cap' });

    it('doubles until the first OUT_OF_MEMORY, saving each attempt as unfinished before it runs', async () => {
      const { model, tried } = stubModel(600);
      const seen: string[] = [];
      const search = fresh();
      await searchOneShot(model, search, plan(undefined, () => seen.push(`${search.attempts.at(-1)?.outcome}/${search.stoppedBy}`)));
      assert.deepStrictEqual(tried, [256, 512, 1024]);
      assert.deepStrictEqual(search.attempts.map((a) => [a.tokens, a.outcome]), [[256, 'ok'], [512, 'ok'], [1024, 'out-of-memory']]);
      assert.strictEqual(search.attempts[2].error, 'OOM');
      assert.strictEqual(search.longestOk, 512);
      assert.strictEqual(search.stoppedBy, 'out-of-memory');
      assert.strictEqual(search.plannedLongest, 600, 'the memory plan is recorded before the attempts');
      assert.deepStrictEqual(seen.slice(0, 2), ['unfinished/cut-off', 'ok/cap']);
    });

    it('stops at the cap, or before a step predicted not to fit the time left', async () => {
      const capped = fresh();
      await searchOneShot(stubModel(1e9).model, capped, plan(undefined));
      assert.deepStrictEqual([capped.longestOk, capped.stoppedBy], [8192, 'cap']);
      const timed = fresh();
      await searchOneShot(stubModel(1e9, 400).model, timed, plan(1));
      assert.deepStrictEqual([timed.longestOk, timed.stoppedBy], [256, 'time']);
      assert.ok(timed.nextPredictedMs! > 700, String(timed.nextPredictedMs));
    });
  });

  describe('merging a run split over device calls', () => {
    const base = (sections: GpuBenchReport['sections'], command: string): GpuBenchReport => ({
      version: 1,
      startedAt: command === 'first' ? '2026-11-24T10:00:00.000Z' : '2026-11-24T10:20:00.000Z',
      complete: true,
      commands: [command],
      sections,
      options: parseOptions([]),
      device: JSON.parse('{}') as GpuBenchReport['device'],
      engine: { backend: 'cuda', shapes: [] },
    });

    it('keeps the sections and shapes the later call did not run, and every command', () => {
      const earlier = base(['prefill', 'torch'], 'first');
      earlier.engine.shapes.push(
        { shape: 'qwen2.5-coder-1.5b', weightType: 'BF16', prefill: [{ tokens: 8192, medianMs: 100 }], decode: [], ttft: [] },
        { shape: 'qwen2.5-coder-7b', weightType: 'BF16', prefill: [{ tokens: 8192, medianMs: 400 }], decode: [], ttft: [] },
      );
      earlier.torch = { status: 'skipped', reason: 'earlier', command: 'python3 ...' };
      const later = base(['oneshot'], 'second');
      later.engine.shapes.push({
        shape: 'qwen2.5-coder-7b',
        weightType: 'BF16',
        prefill: [],
        decode: [],
        ttft: [],
        oneShot: { shape: 'qwen2.5-coder-7b', budget: 2048, attempts: [], longestOk: 0, stoppedBy: 'time' },
      });
      const merged = mergeReports(earlier, later);
      assert.deepStrictEqual(merged.commands, ['first', 'second']);
      assert.strictEqual(merged.startedAt, earlier.startedAt);
      assert.deepStrictEqual(merged.sections, ['prefill', 'torch', 'oneshot']);
      assert.deepStrictEqual(merged.engine.shapes.map((s) => s.shape), ['qwen2.5-coder-1.5b', 'qwen2.5-coder-7b']);
      const q7 = merged.engine.shapes[1];
      assert.deepStrictEqual(q7.prefill, [{ tokens: 8192, medianMs: 400 }]);
      assert.strictEqual(q7.oneShot?.stoppedBy, 'time');
      assert.strictEqual(merged.torch?.status, 'skipped');
    });
  });

  describe('a whole run on this machine', () => {
    let json: string;

    it('--backend cpu --quick: writes and loads the tiny model, measures every section, and writes the table', async () => {
      const out = tempDir();
      const run = await runBench(['--backend', 'cpu', '--quick', '--out-dir', out, '--models-dir', path.join(out, 'models')]);
      assert.strictEqual(run.code, 0, run.stderr);
      const files = fs.readdirSync(out).filter((f) => f.startsWith('gpu-'));
      assert.strictEqual(files.length, 2, files.join(', '));
      json = path.join(out, files.find((f) => f.endsWith('.json'))!);
      const report = readReport(json);
      assert.strictEqual(report.complete, true);
      assert.strictEqual(report.engine.error, undefined);
      const tiny = report.engine.shapes[0];
      assert.strictEqual(tiny.backend, 'cpu');
      assert.deepStrictEqual(tiny.prefill.map((r) => [r.tokens, r.error]), [[256, undefined], [512, undefined], [1024, undefined]]);
      assert.strictEqual(tiny.decode.length, 2 * 4);
      assert.ok(tiny.decode.every((r) => r.medianMsPerToken! > 0 && r.cacheBytes! > 0), JSON.stringify(tiny.decode));
      const compact = tiny.decode.find((r) => r.context === 1024 && r.cache === 64)!;
      const full = tiny.decode.find((r) => r.context === 1024 && r.cache === 'full')!;
      assert.ok(compact.cacheBytes! < full.cacheBytes!, 'a compact cache is not smaller than the full one');
      assert.deepStrictEqual(tiny.ttft.map((r) => r.cache), ['full', 64, 128, 256]);
      assert.strictEqual(tiny.oneShot?.longestOk, 2048);
      assert.strictEqual(tiny.oneShot?.stoppedBy, 'cap');
      // The PyTorch half ran, or says why not.
      assert.ok(report.torch, 'no torch outcome');
      if (report.torch.status !== 'ok') {
        assert.strictEqual(report.torch.status, 'skipped', report.torch.reason);
        assert.ok(report.torch.reason.length > 0);
      }
      const markdown = fs.readFileSync(json.replace(/\.json$/, '.md'), 'utf8');
      assert.strictEqual(run.stdout.trim(), markdown.trim());
      for (const title of ['Machine and physical limits', 'Prefill', 'Decode', 'Time from question to first token', 'One-shot mode', 'Targets (issue 7)']) {
        assert.ok(markdown.includes(title), `no "${title}" in the markdown`);
      }
      assert.match(markdown, /npm run bench:gpu -- --backend cpu --quick/);
    });

    it('--resume: a later call adds its sections to an earlier run', async () => {
      const run = await runBench(['--backend', 'cpu', '--quick', '--sections', 'prefill', '--prefill-lengths', '128', '--resume', json, '--out-dir', path.dirname(json), '--models-dir', path.join(path.dirname(json), 'models')]);
      assert.strictEqual(run.code, 0, run.stderr);
      const merged = readReport(json);
      assert.strictEqual(merged.commands.length, 2);
      const tiny = merged.engine.shapes[0];
      assert.deepStrictEqual(tiny.prefill.map((r) => r.tokens), [128]);
      assert.strictEqual(tiny.decode.length, 8, 'the earlier decode rows were lost');
      assert.strictEqual(tiny.oneShot?.longestOk, 2048);
    });

    it('--backend cuda without a usable GPU: says so, writes the report, and exits 2', async function () {
      const cuda = Engine.buildInfo().cuda;
      if (cuda.usable) {
        console.log(`      SKIPPED: this machine has a usable GPU (${cuda.deviceName})`);
        this.skip();
      }
      const out = path.join(tempDir(), 'cuda');
      const run = await runBench(['--quick', '--no-torch', '--out-dir', out]);
      assert.strictEqual(run.code, 2, run.stderr);
      assert.match(run.stderr, /the engine cannot run: the CUDA backend cannot be used/);
      assert.match(run.stdout, /\*\*The engine was not measured:\*\* BACKEND_UNAVAILABLE/);
      const report = readReport(path.join(out, fs.readdirSync(out).find((f) => f.endsWith('.json'))!));
      assert.strictEqual(report.engine.errorCode, 'BACKEND_UNAVAILABLE');
      assert.deepStrictEqual(report.engine.shapes, []);
    });
  });
});
