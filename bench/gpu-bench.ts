/**
 * GPU benchmark: `npm run bench:gpu [-- options]` (options: bench/gpu/options.ts,
 * or --help). Our engine through its TypeScript API and the PyTorch +
 * transformers baseline, on the same real model shapes with random weights,
 * each figure next to its physical limit measured on the same machine and to
 * the targets of issue 7.
 *
 * Writes <out-dir>/gpu-<date>.md (the tables) and .json (every number), after
 * every section, so a run cut off by a device call's limit still leaves what it
 * measured. Prints the markdown at the end; progress goes to stderr.
 *
 * --dry-run prints the rows it would measure instead. The last line on stderr
 * counts the rows measured, failed and skipped (bench/gpu/row-plan.ts).
 *
 * Exit status: 0 when everything that was asked for ran, 2 when the engine
 * could not run at all (no CUDA backend, say), 1 when some shape failed.
 * `bench/gpu/run-on-gpu.sh` runs this on a GPU machine; bench/gpu/README.md.
 */
import * as path from 'path';
import { Engine, EngineError, Model } from '../server/src/engine';
import { Deadline } from './gpu/deadline';
import { deviceInfo } from './gpu/device-info';
import { EnginePlan, measureDecode, measurePrefill, measureTtft, prefillLongPrefix } from './gpu/engine-runs';
import { describeError } from './gpu/errors';
import { ensureShapeModel } from './gpu/model-files';
import { searchOneShot } from './gpu/one-shot';
import { GpuBenchOptions, parseOptions } from './gpu/options';
import { UsageRequested } from './usage';
import { GpuBenchReport, mergeReports, readReport, reportBaseName, writeReportFiles } from './gpu/report';
import { renderReport } from './gpu/report-tables';
import { EngineShapeResult } from './gpu/results';
import { plannedRows, rowCountLine } from './gpu/row-plan';
import { SHAPES, ShapeName } from './gpu/shapes';
import { runTorchBench } from './gpu/torch-run';

const log = (line: string): void => {
  process.stderr.write(`[gpu-bench] ${line}\n`);
};

/** Why the engine cannot run at all: every shape would fail the same way. */
class EngineUnavailable extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function enginePlan(options: GpuBenchOptions, deadline: Deadline, shape: ShapeName, save: () => void): EnginePlan {
  return {
    ...options,
    shape: SHAPES[shape],
    seed: 11,
    deadline,
    log: (line) => log(`${shape}: ${line}`),
    onRow: save,
  };
}

async function loadModel(file: string, options: GpuBenchOptions, result: EngineShapeResult): Promise<Model> {
  const started = performance.now();
  let model: Model;
  try {
    model = await Engine.load(file, {
      backend: options.backend,
      threads: options.threads,
      gpuMemoryBytes: options.gpuMemoryBytes,
      prefixInHostMemory: options.prefixInHostMemory,
    });
  } catch (error) {
    if (error instanceof EngineError && error.code === 'BACKEND_UNAVAILABLE') throw new EngineUnavailable(error.message, error.code);
    throw error;
  }
  result.loadMs = performance.now() - started;
  result.backend = model.info.backend;
  result.backendReason = model.info.backendReason;
  if (model.info.backend !== options.backend) {
    model.dispose();
    throw new EngineUnavailable(`asked for the ${options.backend} backend, the engine ran on ${result.backend} (${result.backendReason})`, 'BACKEND_UNAVAILABLE');
  }
  return model;
}

async function benchShape(shape: ShapeName, options: GpuBenchOptions, deadline: Deadline, result: EngineShapeResult, save: () => void): Promise<void> {
  const sections = new Set(options.sections);
  const main = options.shapes.includes(shape);
  result.file = await ensureShapeModel(shape, options.weightType, options.modelsDir, (line) => log(`${shape}: ${line}`));
  const model = await loadModel(result.file.path, options, result);
  log(`${shape}: loaded in ${((result.loadMs ?? 0) / 1000).toFixed(1)} s (${result.backendReason})`);
  const plan = enginePlan(options, deadline, shape, save);
  try {
    if (main && sections.has('prefill')) {
      await measurePrefill(model, plan, result.prefill);
    }
    const ttft = main && sections.has('ttft');
    const decode = main && sections.has('decode');
    if (ttft || decode) {
      const length = Math.max(ttft ? options.ttftPrefix : 0, ...(decode ? options.decodeLengths : []));
      try {
        const long = await prefillLongPrefix(model, plan, length);
        result.kvBytesPerPosition = long.kvBytesPerPosition;
        result.prefixPlacement = long.placement;
        try {
          if (ttft) await measureTtft(long, plan, options.budgets, result.ttft);
          if (decode) await measureDecode(long, plan, result.decode);
        } finally {
          long.prefix.dispose();
        }
      } catch (error) {
        result.error = `the ${length}-token prefix for the TTFT and decode rows: ${describeError(error)}`;
        log(`${shape}: ${result.error}`);
      }
    }
    if (sections.has('oneshot') && options.oneShotShapes.includes(shape)) {
      result.oneShot = { shape, budget: options.oneShotBudget, attempts: [], longestOk: 0, stoppedBy: 'cap' };
      await searchOneShot(model, result.oneShot, {
        shape: SHAPES[shape],
        start: options.oneShotStart,
        cap: options.oneShotCap,
        budget: options.oneShotBudget,
        window: options.window,
        chunkTokens: options.chunkTokens,
        seed: 13,
        deadline,
        log: (line) => log(`${shape}: ${line}`),
        save,
      });
      save();
    }
  } finally {
    model.dispose();
  }
}

async function runEngine(options: GpuBenchOptions, deadline: Deadline, report: GpuBenchReport, save: () => void): Promise<void> {
  const sections = new Set(options.sections);
  const shapes: ShapeName[] = [];
  if (sections.has('prefill') || sections.has('decode') || sections.has('ttft')) shapes.push(...options.shapes);
  if (sections.has('oneshot')) shapes.push(...options.oneShotShapes.filter((s) => !shapes.includes(s)));
  if (shapes.length > 0 && options.backend === 'cuda') {
    // Before writing gigabytes of model files for a backend that cannot run.
    const cuda = Engine.buildInfo().cuda;
    if (!cuda.usable) {
      report.engine.error = `the CUDA backend cannot be used: ${cuda.compiled ? cuda.message : 'the addon was built without CUDA (no nvcc)'}`;
      report.engine.errorCode = 'BACKEND_UNAVAILABLE';
      log(`the engine cannot run: ${report.engine.error}`);
      save();
      return;
    }
  }
  for (const shape of shapes) {
    const result: EngineShapeResult = { shape, weightType: options.weightType, prefill: [], decode: [], ttft: [] };
    report.engine.shapes.push(result);
    try {
      await benchShape(shape, options, deadline, result, save);
    } catch (error) {
      if (error instanceof EngineUnavailable) {
        report.engine.error = error.message;
        report.engine.errorCode = error.code;
        report.engine.shapes.pop();
        log(`the engine cannot run: ${error.code}: ${error.message}`);
        save();
        return;
      }
      result.error = describeError(error);
      log(`${shape}: ${result.error}`);
    }
    save();
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let options: GpuBenchOptions;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (error instanceof UsageRequested) {
      console.log(error.message);
      return 0;
    }
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 64;
  }
  if (options.dryRun) {
    console.log(`bench:gpu would measure, on the ${options.backend} backend (${options.weightType} files in ${options.modelsDir}), writing gpu-<date>.md and .json to ${options.outDir}:`);
    for (const row of plannedRows(options)) console.log(`  ${row}`);
    return 0;
  }
  const deadline = new Deadline(options.timeBudgetSeconds);
  const report: GpuBenchReport = {
    version: 1,
    startedAt: new Date().toISOString(),
    complete: false,
    commands: [`npm run bench:gpu${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`],
    sections: options.sections,
    options,
    device: deviceInfo(),
    engine: { backend: options.backend, shapes: [] },
  };
  const earlier = options.resume ? readReport(options.resume) : undefined;
  const base = options.resume ? path.basename(options.resume, '.json') : reportBaseName(report);
  let files = { json: '', markdown: '' };
  const current = (): GpuBenchReport => (earlier ? mergeReports(earlier, report) : report);
  const save = (): void => {
    const merged = current();
    files = writeReportFiles(options.outDir, base, merged, renderReport(merged));
  };
  log(`GPU: ${report.device.gpu}; engine CUDA: ${report.device.engineCuda}`);
  save();

  // PyTorch first: its matmul and copy measurements are the limits every table needs.
  if (options.sections.includes('torch')) {
    const remaining = deadline.remainingMs();
    report.torch = await runTorchBench({
      python: options.python,
      device: options.backend,
      shapes: options.shapes,
      prefillLengths: options.prefillLengths,
      decodeLengths: options.decodeLengths,
      ttftPrefix: options.ttftPrefix,
      question: options.question,
      decodeSteps: options.decodeTokens - 1,
      repeats: options.repeats,
      quick: options.quick,
      timeoutMs: Math.min(options.torchTimeoutSeconds * 1000, Number.isFinite(remaining) ? Math.max(remaining, 1000) : Infinity),
      log: (line) => log(`torch: ${line}`),
    });
    if (report.torch.status !== 'ok') log(`PyTorch baseline ${report.torch.status}: ${report.torch.reason}`);
    save();
  }
  await runEngine(options, deadline, report, save);

  report.complete = true;
  save();
  console.log(renderReport(current()));
  log(`wrote ${files.markdown} and ${files.json}`);
  log(rowCountLine(report));
  if (report.engine.error) return 2;
  return report.engine.shapes.some((s) => s.error) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[gpu-bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
