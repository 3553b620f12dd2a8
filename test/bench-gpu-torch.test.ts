// bench/gpu/torch_bench.py, the PyTorch + transformers baseline, in its CPU
// smoke mode (--device cpu --quick). Needs python3 with torch; the model rows
// need transformers, which is on the GPU machine but maybe not here: then they
// run against a stand-in (test/fixtures/fake-transformers) that checks the
// script's plumbing, and the real-transformers check is skipped with the reason.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TorchReport } from '../bench/gpu/results';
import { repoRoot } from '../bench/native-tools';
import { useTempDir } from './helpers/temp-dir';

const SCRIPT = path.join(repoRoot(), 'bench', 'gpu', 'torch_bench.py');
const STAND_IN = path.join(repoRoot(), 'test', 'fixtures', 'fake-transformers');

interface ScriptRun {
  code: number;
  stderr: string;
  report?: TorchReport;
}

function runScript(args: readonly string[], outFile: string, env: NodeJS.ProcessEnv = {}): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    execFile('python3', [SCRIPT, ...args, '--out', outFile], { timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...env } }, (error, _stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      const report = fs.existsSync(outFile) ? (JSON.parse(fs.readFileSync(outFile, 'utf8')) as TorchReport) : undefined;
      resolve({ code: error ? (error.code as number) : 0, stderr, report });
    });
  });
}

/** Why each module cannot be imported (undefined: it can), from one python3 start. */
function missingModules(modules: readonly string[]): Promise<Record<string, string | undefined>> {
  const probe = [
    'import importlib, json',
    'out = {}',
    `for name in ${JSON.stringify(modules)}:`,
    '    try:',
    '        importlib.import_module(name); out[name] = None',
    '    except Exception as e:',
    '        out[name] = f"{type(e).__name__}: {e}"',
    'print(json.dumps(out))',
  ].join('\n');
  return new Promise((resolve) => {
    execFile('python3', ['-c', probe], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        const why = error.code === 'ENOENT' ? 'python3 not found' : stderr.trim().split('\n').pop() ?? error.message;
        resolve(Object.fromEntries(modules.map((m) => [m, why])));
        return;
      }
      const found = JSON.parse(stdout) as Record<string, string | null>;
      resolve(Object.fromEntries(modules.map((m) => [m, found[m] ?? undefined])));
    });
  });
}

function checkModelRows(report: TorchReport): void {
  assert.strictEqual(report.skipped, null);
  const tiny = report.shapes.find((s) => s.shape === 'tiny');
  assert.ok(tiny, 'no tiny shape in the report');
  assert.strictEqual(tiny.error, undefined);
  assert.deepStrictEqual(tiny.prefill?.map((p) => p.tokens), [256, 512]);
  for (const row of tiny.prefill ?? []) {
    assert.strictEqual(row.error, undefined);
    assert.ok(row.tokensPerSecond! > 0 && row.runsMs!.length === 2, JSON.stringify(row));
  }
  assert.deepStrictEqual(tiny.decode?.map((d) => d.context), [256, 512]);
  for (const row of tiny.decode ?? []) assert.ok(row.medianMsPerToken! > 0, JSON.stringify(row));
  assert.ok(tiny.ttft && tiny.ttft.medianMs! > 0 && tiny.ttft.prefix === 512 && tiny.ttft.question === 64, JSON.stringify(tiny.ttft));
}

describe('torch_bench.py (PyTorch baseline), CPU smoke mode', function () {
  this.timeout(90_000);
  const tempDir = useTempDir('torch-bench');
  let torchMissing: string | undefined;
  let transformersMissing: string | undefined;

  before(async function () {
    const missing = await missingModules(['torch', 'transformers']);
    torchMissing = missing.torch;
    transformersMissing = missing.transformers;
    if (torchMissing) {
      console.log(`      SKIPPED: python3 cannot import torch here (${torchMissing}); the GPU machine has it`);
      this.skip();
    }
  });

  it('measures the bf16 matrix rate and the copy bandwidth, and says why model rows are missing', async function () {
    if (!transformersMissing) this.skip();
    const out = path.join(tempDir(), 'limits.json');
    const run = await runScript(['--device', 'cpu', '--quick'], out);
    assert.strictEqual(run.code, 0, run.stderr);
    const report = run.report!;
    assert.ok(report.limits?.matmul?.tflops! > 0, JSON.stringify(report.limits));
    assert.ok(report.limits?.copy?.gbps! > 0, JSON.stringify(report.limits));
    assert.strictEqual(report.limits?.matmul?.runsMs?.length, 5);
    assert.match(report.skipped ?? '', /^transformers is not importable: /);
    assert.deepStrictEqual(report.shapes, []);
  });

  it('runs prefill, decode and time-to-first-token rows with real transformers', async function () {
    if (transformersMissing) {
      console.log(`      SKIPPED: python3 cannot import transformers here (${transformersMissing}); the stand-in test below covers the script's plumbing`);
      this.skip();
    }
    const out = path.join(tempDir(), 'real.json');
    const run = await runScript(['--device', 'cpu', '--quick'], out);
    assert.strictEqual(run.code, 0, run.stderr);
    assert.ok(run.report!.limits?.matmul?.tflops! > 0 && run.report!.limits?.copy?.gbps! > 0, JSON.stringify(run.report!.limits));
    checkModelRows(run.report!);
  });

  it('runs every row against a stand-in transformers, falling back to a chunked prefill when one shot runs out of memory', async () => {
    const out = path.join(tempDir(), 'stand-in.json');
    const run = await runScript(['--device', 'cpu', '--quick', '--no-limits'], out, { PYTHONPATH: STAND_IN });
    assert.strictEqual(run.code, 0, run.stderr);
    const report = run.report!;
    assert.strictEqual(report.transformers, '0.0.0+stand-in');
    assert.strictEqual(report.limits, null);
    checkModelRows(report);
    assert.strictEqual(report.shapes[0].prefill?.[0].mode, 'one shot');

    const chunked = path.join(tempDir(), 'chunked.json');
    const args = ['--device', 'cpu', '--quick', '--no-limits', '--prefill-lengths', '2048,300', '--decode-lengths', '512', '--ttft-prefix', '256'];
    const small = await runScript(args, chunked, { PYTHONPATH: STAND_IN, FAKE_TRANSFORMERS_OOM_ABOVE: '1500' });
    assert.strictEqual(small.code, 0, small.stderr);
    const rows = small.report!.shapes[0].prefill!;
    assert.match(rows[0].mode ?? '', /^chunked \(1024 tokens; one shot ran out of memory\)$/);
    assert.ok(rows[0].tokensPerSecond! > 0);
    assert.strictEqual(rows[1].mode, 'one shot');

    const oom = path.join(tempDir(), 'oom.json');
    const none = await runScript(args, oom, { PYTHONPATH: STAND_IN, FAKE_TRANSFORMERS_OOM_ABOVE: '100' });
    assert.strictEqual(none.code, 0, none.stderr);
    const shape = none.report!.shapes[0];
    assert.deepStrictEqual(shape.prefill!.map((r) => r.error), ['OOM', 'OOM']);
    assert.strictEqual(shape.longPrefill?.error, 'OOM');
  });
});
