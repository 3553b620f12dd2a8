// The first GPU session's plan (bench/gpu/run-on-gpu.sh first-run, issue 19),
// checked where no GPU is: the script's dry run (steps, commands, time caps
// against the device call's limit, files against the 8 a call returns), the
// bench's --preset first-run and --dry-run options, the row counts a run ends
// with, the preset's rows measured for real on the CPU at the tiny shape, and
// the short memcheck step's time keeping, with stand-ins for the GPU tools.
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
const KERNEL_CHECK = path.join(repoRoot(), 'native', 'tools', 'gpu_kernel_check.sh');
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

  describe('memcheck on a short subset (gpu_kernel_check.sh memcheck-short), with stand-in tools', () => {
    /**
     * A build folder whose kernel check sleeps `slowSeconds` in `slowGroup`,
     * and a compute-sanitizer that runs its program (or, with
     * `refuses`, answers as it does on a device it cannot use).
     */
    function standIns(slowGroup: string, slowSeconds: number, refuses: boolean): { build: string; bin: string } {
      const root = fs.mkdtempSync(path.join(tempDir(), 'tools-'));
      const build = path.join(root, 'build');
      const bin = path.join(root, 'bin');
      fs.mkdirSync(path.join(build, 'native'), { recursive: true });
      fs.mkdirSync(bin);
      const script = (file: string, body: string): void => fs.writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
      script(path.join(build, 'native', 'snapkv-kernel-test'), `group=\${@: -1}; [ "$group" = ${slowGroup} ] && exec sleep ${slowSeconds}; echo "PASS  a $group check"`);
      script(path.join(build, 'native', 'snapkv-run'), 'echo "{\"backend\": \"cuda\"}"');
      script(path.join(build, 'native', 'snapkv-write-model'), 'while [ $# -gt 0 ]; do [ "$1" = --out ] && touch "$2"; shift; done');
      script(path.join(bin, 'compute-sanitizer'), refuses
        ? 'echo "========= Error: Device not supported"; exit 1'
        : 'while [ "$1" != --error-exitcode ]; do shift; done; shift 2\n"$@" & child=$!\ntrap \'kill $child; exit 143\' TERM\nwait $child; rc=$?; echo "========= ERROR SUMMARY: 0 errors"; exit $rc');
      return { build, bin };
    }

    async function memcheckShort(tools: { build: string; bin: string }, seconds: number): Promise<{ run: Run; summary: string; out: string }> {
      const out = fs.mkdtempSync(path.join(tempDir(), 'out-'));
      const result = await run('bash', [KERNEL_CHECK, 'memcheck-short'], {
        OUT: out,
        SNAPKV_GPU_BUILD: tools.build,
        SNAPKV_MEMCHECK_SECONDS: String(seconds),
        SNAPKV_KERNEL_TEST_SEED: '5',
        PATH: `${tools.bin}:${process.env.PATH}`,
      });
      return { run: result, summary: fs.readFileSync(path.join(out, 'summary.txt'), 'utf8'), out };
    }

    it('checks the whole model first, then the groups until its time is spent, cutting off the one that overruns', async () => {
      const started = Date.now();
      const { run: result, summary, out } = await memcheckShort(standIns('attention', 60, false), 8);
      assert.strictEqual(result.code, 0, result.stdout + result.stderr);
      assert.ok(Date.now() - started < 30_000, 'the step outran its time');
      const lines = summary.split('\n').filter((l) => l.startsWith('memcheck-short'));
      const names = ['model', 'attention', 'snapkv', 'matrix', 'basic', 'sampling'];
      assert.deepStrictEqual(lines.map((l) => l.split(':')[0]), names.map((n) => `memcheck-short ${n}`));
      assert.match(lines[0], /exit 0 \(========= ERROR SUMMARY: 0 errors\)/);
      // The group that sleeps is cut off at the time left (or, on a slow machine, not started); none after it runs.
      assert.match(lines[1], /exit 124 \(cut off after \d+ s\)|not run \(the 8 s were spent\)/);
      for (const line of lines.slice(2)) assert.match(line, /not run \(the 8 s were spent\)/);
      const log = fs.readFileSync(path.join(out, 'memcheck-short.txt'), 'utf8');
      assert.match(log, /== memcheck model: .*snapkv-run .*tiny-BF16\.gguf --random-tokens 300 --generate 8 --backend cuda/);
    });

    it('runs every group when they fit, with the seed it was given', async () => {
      const { run: result, summary, out } = await memcheckShort(standIns('none', 0, false), 60);
      assert.strictEqual(result.code, 0, result.stdout + result.stderr);
      assert.strictEqual(summary.split('\n').filter((l) => /^memcheck-short \w+: exit 0 /.test(l)).length, 6, summary);
      const log = fs.readFileSync(path.join(out, 'memcheck-short.txt'), 'utf8');
      for (const group of ['attention', 'snapkv', 'matrix', 'basic', 'sampling']) {
        assert.match(log, new RegExp(`snapkv-kernel-test --seed 5 --only ${group}\\n(.*\\n)?PASS {2}a ${group} check`));
      }
    });

    it('says so and passes where compute-sanitizer cannot use the device', async () => {
      const { run: result, summary } = await memcheckShort(standIns('none', 0, true), 30);
      assert.strictEqual(result.code, 0, result.stdout + result.stderr);
      assert.match(summary, /memcheck-short model: exit 1/);
      assert.match(summary, /memcheck-short: skipped: compute-sanitizer cannot use this device/);
      assert.doesNotMatch(summary, /memcheck-short attention/);
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
