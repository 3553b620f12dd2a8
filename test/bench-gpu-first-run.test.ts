// The first GPU session's plan (bench/gpu/run-on-gpu.sh first-run, issue 19),
// checked where no GPU is: the script's dry run (steps, commands, time caps
// against the device call's limit, files against the 8 a call returns), the
// bench's --preset first-run and --dry-run options, the row counts a run ends
// with, and the preset's rows measured for real on the CPU at the tiny shape.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseOptions, PRESETS } from '../bench/gpu/options';
import { GpuBenchReport, readReport } from '../bench/gpu/report';
import { countRows, plannedRows, rowCountLine } from '../bench/gpu/row-plan';
import { repoRoot } from '../bench/native-tools';
import { useTempDir } from './helpers/temp-dir';

const SCRIPT = path.join(repoRoot(), 'bench', 'gpu', 'run-on-gpu.sh');
const BENCH = path.join(repoRoot(), 'out', 'bench', 'gpu-bench.js');
// The device call's limits (the device tool's README): 600 s a command, 8 files back from $OUT.
const CALL_LIMIT_SECONDS = 600;
const FILES_RETURNED = 8;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: repoRoot(), timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

interface PlannedStep {
  name: string;
  cap: number;
  files: string[];
  command: string;
}

/** `step NAME cap N s  writes FILES` followed by `  $ COMMAND`. */
function parseSteps(stdout: string): PlannedStep[] {
  const lines = stdout.split('\n');
  const steps: PlannedStep[] = [];
  lines.forEach((line, i) => {
    const m = /^step (\S+) +cap +(\d+) s {2}writes (.+)$/.exec(line);
    if (!m) return;
    const command = /^ {2}\$ (.+)$/.exec(lines[i + 1] ?? '');
    assert.ok(command, `no command under "${line}"`);
    steps.push({ name: m[1], cap: Number(m[2]), files: m[3].split(' '), command: command[1] });
  });
  return steps;
}

describe('The first GPU session (run-on-gpu.sh first-run)', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('first-run');

  describe('the dry run', () => {
    let dry: Run;
    let steps: PlannedStep[];
    let out: string;

    before(async () => {
      out = path.join(tempDir(), 'out');
      dry = await run('bash', [SCRIPT, '--dry-run'], { OUT: out, SNAPKV_CALL_SECONDS: '570' });
      steps = parseSteps(dry.stdout);
    });

    it('lists the issue\'s steps in order, and runs nothing', () => {
      assert.strictEqual(dry.code, 0, dry.stderr);
      assert.deepStrictEqual(steps.map((s) => s.name), ['setup', 'build', 'kernel-checks', 'test-gpu', 'sanitize', 'bench']);
      assert.ok(!fs.existsSync(out), 'the dry run wrote to $OUT');
    });

    it('keeps the caps inside the call, with time left for the files, and the bench its share', () => {
      const total = steps.reduce((sum, s) => sum + s.cap, 0);
      assert.ok(total <= 570 - 10, `caps sum to ${total} s`);
      assert.ok(570 < CALL_LIMIT_SECONDS);
      assert.match(dry.stdout, new RegExp(`^caps: ${total} s of the call's 570 s`, 'm'));
      const bench = steps.find((s) => s.name === 'bench')!;
      assert.ok(bench.cap >= 120, `the bench gets only ${bench.cap} s`);
      assert.ok(steps.every((s) => s.cap > 0));
    });

    it('names at most the 8 files a call returns, the summary first', () => {
      const files = new Set(['first-run-summary.txt', ...steps.flatMap((s) => s.files)]);
      assert.ok(files.size <= FILES_RETURNED, [...files].join(', '));
      assert.ok(files.has('gpu-<date>.md') && files.has('gpu-<date>.json') && files.has('test-gpu.txt'));
      assert.match(dry.stdout, /^files in \$OUT: first-run-summary\.txt /m);
      for (const file of files) assert.match(file, /^[A-Za-z0-9._<>-]+$/, `${file}: a name the call cannot return`);
    });

    it('builds for sm_90 alone on every core, and checks with the tools the steps name', () => {
      const build = steps.find((s) => s.name === 'build')!.command;
      assert.match(build, /CMAKE_BUILD_PARALLEL_LEVEL=\d+ SNAPKV_CUDA_ARCHS=90 .*cmake-js compile --out build --parallel \d+ --CDCMAKE_CUDA_ARCHITECTURES=90 /);
      assert.match(dry.stdout, /^build without Node there: cmake -S \. -B build .*-DCMAKE_CUDA_ARCHITECTURES=90 .*--target snapkv-kernel-test snapkv-run snapkv-write-model/m);
      assert.match(steps.find((s) => s.name === 'kernel-checks')!.command, /gpu_kernel_check\.sh test model/);
      assert.match(steps.find((s) => s.name === 'test-gpu')!.command, /^npm run test:gpu /);
      assert.match(steps.find((s) => s.name === 'sanitize')!.command, /SNAPKV_MEMCHECK_SECONDS=\d+ bash native\/tools\/gpu_kernel_check\.sh memcheck-short/);
    });

    it('runs bench:gpu with options it takes: the first-run preset inside the step\'s time, rows written to $OUT', () => {
      const command = steps.find((s) => s.name === 'bench')!;
      const args = /npm run bench:gpu -- (.*?) >/.exec(command.command)![1].split(/\s+/).filter(Boolean);
      const options = parseOptions(args);
      assert.strictEqual(options.preset, 'first-run');
      assert.strictEqual(options.outDir, out);
      assert.ok(options.timeBudgetSeconds! < command.cap, `bench time budget ${options.timeBudgetSeconds} s, cap ${command.cap} s`);
      assert.ok(options.torchTimeoutSeconds < options.timeBudgetSeconds!);
      // The bench's own plan, printed under the steps.
      for (const row of plannedRows(options)) assert.ok(dry.stdout.includes(row), `the dry run does not list "${row}"`);
    });

    it('warns when the call is shorter than the caps', async () => {
      const short = await run('bash', [SCRIPT, '--dry-run'], { OUT: out, SNAPKV_CALL_SECONDS: '300' });
      assert.strictEqual(short.code, 0, short.stderr);
      assert.match(short.stdout, /^warning: the caps sum to more than the call/m);
      const refused = await run('bash', [SCRIPT, '--dry-run', 'bench']);
      assert.strictEqual(refused.code, 64);
      assert.match(refused.stderr, /plans first-run only/);
    });
  });

  describe('bench:gpu --preset first-run', () => {
    it('asks for the issue\'s rows: 1.5B, prefill 8K and 32K, decode and first token at 32K, full cache and SnapKV 2048, PyTorch', () => {
      const o = parseOptions(['--preset', 'first-run']);
      assert.deepStrictEqual(o.shapes, ['qwen2.5-coder-1.5b']);
      assert.deepStrictEqual(o.prefillLengths, [8192, 32768]);
      assert.deepStrictEqual(o.decodeLengths, [32768]);
      assert.deepStrictEqual(o.budgets, [2048]);
      assert.strictEqual(o.ttftPrefix, 32768);
      assert.deepStrictEqual([...o.sections].sort(), ['decode', 'prefill', 'torch', 'ttft']);
      assert.strictEqual(o.backend, 'cuda');
      assert.strictEqual(o.dryRun, false);
      const rows = plannedRows(o);
      assert.strictEqual(rows.filter((r) => r.startsWith('torch')).length, 2);
      assert.deepStrictEqual(rows.filter((r) => !r.startsWith('torch')).map((r) => r.split(/\s+/)[0]), ['prefill', 'prefill', 'ttft', 'ttft', 'decode', 'decode']);
    });

    it('applies the preset wherever it stands, lets later options refine it, and refuses unknown names', () => {
      const refined = parseOptions(['--budgets', '1024', '--preset', 'first-run', '--repeats', '2', '--dry-run']);
      assert.deepStrictEqual(refined.budgets, [1024], 'an option before the preset still refines it');
      assert.deepStrictEqual(refined.prefillLengths, [8192, 32768]);
      const later = parseOptions(['--preset', 'first-run', '--budgets', '1024,4096']);
      assert.deepStrictEqual(later.budgets, [1024, 4096]);
      assert.strictEqual(refined.repeats, 2);
      assert.strictEqual(refined.dryRun, true);
      const quick = parseOptions(['--backend', 'cpu', '--preset', 'first-run', '--quick']);
      assert.deepStrictEqual(quick.shapes, ['tiny']);
      assert.deepStrictEqual([quick.prefillLengths, quick.decodeLengths, quick.budgets, quick.ttftPrefix], [[256, 1024], [1024], [128], 1024]);
      assert.deepStrictEqual(Object.keys(PRESETS), ['first-run']);
      assert.throws(() => parseOptions(['--preset', 'everything']), /unknown preset everything; choose from first-run/);
      assert.throws(() => parseOptions(['--preset']), /--preset needs a value/);
    });
  });

  describe('the row count a run ends with', () => {
    it('counts measured, failed, skipped and never reached rows against the plan', () => {
      const options = parseOptions(['--preset', 'first-run']);
      const report: GpuBenchReport = {
        version: 1,
        startedAt: '2026-12-05T00:00:00.000Z',
        complete: false,
        commands: ['npm run bench:gpu -- --preset first-run'],
        sections: options.sections,
        options,
        device: JSON.parse('{}') as GpuBenchReport['device'],
        engine: {
          backend: 'cuda',
          shapes: [{
            shape: 'qwen2.5-coder-1.5b',
            weightType: 'BF16',
            prefill: [{ tokens: 8192, medianMs: 250 }, { tokens: 32768, error: 'CUDA_ERROR: an illegal memory access' }],
            ttft: [{ prefix: 32768, question: 64, cache: 'full', medianMs: 80 }, { prefix: 32768, question: 64, cache: 2048, error: 'skipped: the time budget ran out' }],
            decode: [],
          }],
        },
        torch: { status: 'failed', reason: 'stopped after its time limit of 44 s', command: 'python3 ...' },
      };
      assert.deepStrictEqual(countRows(report), { planned: 6, measured: 2, failed: 1, skipped: 1 });
      assert.strictEqual(rowCountLine(report), 'rows: 2 measured, 1 failed, 1 skipped, 2 not reached (of 6 planned); PyTorch failed: stopped after its time limit of 44 s');
    });
  });

  describe('the preset on this machine (--backend cpu --quick)', () => {
    it('measures every row of the preset, scaled to the tiny shape, and ends with the count', async () => {
      const out = tempDir();
      const smoke = await run(process.execPath, [BENCH, '--backend', 'cpu', '--quick', '--preset', 'first-run', '--repeats', '1', '--decode-tokens', '5', '--out-dir', out, '--models-dir', path.join(out, 'models')], {}, 110_000);
      assert.strictEqual(smoke.code, 0, smoke.stderr);
      const json = fs.readdirSync(out).find((f) => /^gpu-.*\.json$/.test(f));
      assert.ok(json, 'no report written');
      const report = readReport(path.join(out, json));
      const tiny = report.engine.shapes[0];
      assert.deepStrictEqual(tiny.prefill.map((r) => [r.tokens, r.error, r.medianMs! > 0]), [[256, undefined, true], [1024, undefined, true]]);
      assert.deepStrictEqual(tiny.ttft.map((r) => [r.prefix, r.cache, r.medianMs! > 0]), [[1024, 'full', true], [1024, 128, true]]);
      assert.deepStrictEqual(tiny.decode.map((r) => [r.context, r.cache, r.medianMsPerToken! > 0]), [[1024, 'full', true], [1024, 128, true]]);
      assert.strictEqual(tiny.oneShot, undefined, 'the preset has no one-shot rows');
      assert.match(smoke.stderr, /\[gpu-bench\] rows: 6 measured, 0 failed, 0 skipped, 0 not reached \(of 6 planned\); PyTorch /);
    });
  });
});
