// The markdown of a GPU benchmark run: each figure next to its physical limit
// (measured on the same machine) and to the targets of issue 7.
import { Table, fmt, fmtBytes, renderTable, left, right } from '../tables';
import { cacheName } from './cache-name';
import {
  TARGETS,
  Verdict,
  compactDecodeVerdict,
  decodeWeightBytes,
  kvBytes,
  oneShotVerdict,
  prefillLimitTokensPerSecond,
  prefillTflops,
  prefillVerdict,
  questionFlops,
  rooflineMs,
  streamMs,
} from './limits';
import { GpuBenchReport } from './report';
import { DecodeRow, EngineShapeResult, OneShotAttempt, OneShotSearch, TorchShapeResult } from './results';
import { SHAPES, ShapeName } from './shapes';

export interface MeasuredLimits {
  /** bf16 matrix rate, TFLOP/s; NaN when not measured. */
  matmulTflops: number;
  /** Device-to-device copy, GB/s counting read and write; NaN when not measured. */
  copyGBps: number;
}

export function measuredLimits(report: GpuBenchReport): MeasuredLimits {
  const limits = report.torch?.report?.limits;
  return { matmulTflops: limits?.matmul?.tflops ?? NaN, copyGBps: limits?.copy?.gbps ?? NaN };
}

function torchShape(report: GpuBenchReport, shape: ShapeName): TorchShapeResult | undefined {
  return report.torch?.report?.shapes.find((s) => s.shape === shape);
}

/**
 * `digits` decimals, or three significant digits for small values, so that a
 * tiny smoke-run model does not print columns of 0.0.
 */
export function num(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value !== 0 && Math.abs(value) < 10 ** (1 - digits)) return value.toPrecision(3);
  return fmt(value, digits);
}

/** A measured figure, or the row's error ('OOM', 'skipped: ...'), or '-'. */
function cell(value: number | undefined, digits: number, error?: string): string {
  if (error) return error;
  return value === undefined ? '-' : num(value, digits);
}

function targetCell(verdict: Verdict): string {
  return verdict.text;
}

function percent(part: number, whole: number): string {
  return Number.isFinite(part / whole) ? `${((100 * part) / whole).toFixed(0)}%` : 'n/a';
}

export function machineTable(report: GpuBenchReport, limits: MeasuredLimits): Table {
  const d = report.device;
  const torch = report.torch;
  const t = torch?.report;
  const matmul = t?.limits?.matmul;
  const copy = t?.limits?.copy;
  const torchLine = torch
    ? torch.status === 'ok'
      ? `torch ${t?.torch ?? '?'}, transformers ${t?.transformers ?? '?'}, CUDA runtime ${t?.cudaRuntime ?? '-'}, Python ${t?.python ?? '?'}`
      : `${torch.status}: ${torch.reason}`
    : 'not run';
  return {
    title: 'Machine and physical limits',
    columns: [{ header: 'item' }, { header: 'value' }],
    rows: [
      ['date', d.date],
      ['GPU', d.gpuMemory === d.gpu ? d.gpu : `${d.gpu} (${d.gpuMemory})`],
      ['driver / CUDA (driver) / nvcc', `${d.driver} / ${d.cudaVersion} / ${d.nvcc}`],
      ['engine backend', `${report.options.backend}; addon CUDA: ${d.engineCuda}`],
      [
        'engine prefix cache',
        report.engine.shapes
          .filter((s) => s.kvBytesPerPosition !== undefined)
          .map((s) => `${s.shape}: ${s.prefixPlacement ?? '?'}, ${fmtBytes(s.kvBytesPerPosition!)} per position`)
          .join('; ') || '-',
      ],
      ['engine weights', `${report.options.weightType} GGUF written by snapkv-write-model (random weights)`],
      ['PyTorch baseline', torchLine],
      ['bf16 matrix rate (torch.matmul)', matmul?.tflops ? `${fmt(limits.matmulTflops, 1)} TFLOP/s (${matmul.n}^3, median of ${matmul.runsMs?.length ?? '?'})` : 'not measured'],
      ['copy bandwidth (Tensor.copy_)', copy?.gbps ? `${fmt(limits.copyGBps, 0)} GB/s read + write (${fmtBytes(copy.bytes)}, median of ${copy.runsMs?.length ?? '?'})` : 'not measured'],
      ['host', `${d.cpu}, ${d.logicalCpus} threads, ${fmtBytes(d.hostMemoryBytes)}; node ${d.node}`],
    ],
  };
}

export function prefillTable(report: GpuBenchReport, limits: MeasuredLimits): Table {
  const rows: string[][] = [];
  for (const engine of report.engine.shapes) {
    const shape = SHAPES[engine.shape];
    const torch = torchShape(report, engine.shape);
    for (const row of engine.prefill) {
      const engineTflops = row.medianMs ? prefillTflops(shape, row.tokens, row.medianMs) : NaN;
      const t = torch?.prefill?.find((p) => p.tokens === row.tokens);
      const torchTflops = t?.medianMs ? prefillTflops(shape, row.tokens, t.medianMs) : NaN;
      const target = row.tokens === TARGETS.prefillLength ? targetCell(prefillVerdict(engineTflops, limits.matmulTflops)) : '-';
      rows.push([
        engine.shape,
        String(row.tokens),
        cell(row.tokensPerSecond, 0, row.error),
        row.error ? '-' : num(engineTflops, 1),
        row.error ? '-' : percent(engineTflops, limits.matmulTflops),
        t ? cell(t.tokensPerSecond, 0, t.error) : 'not run',
        t && !t.error ? num(torchTflops, 1) : '-',
        fmt(prefillLimitTokensPerSecond(shape, row.tokens, limits.matmulTflops), 0),
        target,
      ]);
    }
  }
  return {
    title: 'Prefill (tokens/s, logits of the last token only)',
    columns: [
      ...left('shape'),
      ...right('tokens', 'engine tok/s', 'engine TFLOP/s', 'of bf16 rate', 'PyTorch tok/s', 'PyTorch TFLOP/s', 'limit tok/s'),
      ...left(`target (${TARGETS.prefillLength}: ≥ ${TARGETS.prefillFractionOfMatmul * 100}% of rate)`),
    ],
    rows,
    notes: [
      'FLOPs counted as bench/flops.ts counts them: 2 per weight per token, attention 4 x layers x heads x head_dim per cached position (mean context n/2), one row of logits.',
      'Limit: every counted FLOP at the measured bf16 matrix rate. Median of the measured runs after one warm-up.',
    ],
  };
}

function decodeLimits(engine: EngineShapeResult, row: DecodeRow, limits: MeasuredLimits): { weightsMs: number; allMs: number } {
  const weights = decodeWeightBytes(SHAPES[engine.shape], engine.weightType);
  return { weightsMs: streamMs(weights, limits.copyGBps), allMs: streamMs(weights + (row.cacheBytes ?? 0), limits.copyGBps) };
}

export function decodeTable(report: GpuBenchReport, limits: MeasuredLimits): Table {
  const rows: string[][] = [];
  for (const engine of report.engine.shapes) {
    const torch = torchShape(report, engine.shape);
    for (const row of engine.decode) {
      const { weightsMs, allMs } = decodeLimits(engine, row, limits);
      const ms = row.medianMsPerToken ?? NaN;
      const t = row.cache === 'full' ? torch?.decode?.find((d) => d.context === row.context) : undefined;
      rows.push([
        engine.shape,
        String(row.context),
        cacheName(row.cache),
        row.cacheBytes === undefined ? '-' : fmtBytes(row.cacheBytes),
        cell(row.medianMsPerToken, 2, row.error),
        num(weightsMs, 2),
        row.cacheBytes === undefined ? '-' : num(allMs, 2),
        row.error || !Number.isFinite(ms / weightsMs) ? '-' : `${num(ms / weightsMs, 2)}x`,
        row.cache === 'full' ? '-' : targetCell(compactDecodeVerdict(ms, weightsMs)),
        row.cache === 'full' ? (t ? cell(t.medianMsPerToken, 2, t.error) : 'not run') : '-',
      ]);
    }
  }
  return {
    title: 'Decode (ms/token) from the full cache and from SnapKV compact caches',
    columns: [
      ...left('shape'),
      ...right('context'),
      ...left('cache'),
      ...right('KV held', 'engine ms', 'limit: weights', 'limit: + KV', 'engine / weights limit'),
      ...left(`target (≤ ${TARGETS.compactDecodeOverWeightLimit}x weights limit)`),
      ...right('PyTorch ms'),
    ],
    rows,
    notes: [
      'Limits: bytes one step must read over the measured copy bandwidth; weights = every layer matrix and the output projection in the file type; KV = what the cache holds (the engine\'s own statistics).',
      'Engine: median gap between streamed tokens (N-API and the JavaScript loop included), the first token excluded. PyTorch: median of single steps timed with CUDA events, the cache cut back to the context after each step (transformers\' DynamicCache).',
    ],
  };
}

export function ttftTable(report: GpuBenchReport, limits: MeasuredLimits): Table {
  const rows: string[][] = [];
  for (const engine of report.engine.shapes) {
    const shape = SHAPES[engine.shape];
    const torch = torchShape(report, engine.shape)?.ttft;
    for (const row of engine.ttft) {
      const flops = questionFlops(shape, row.question, row.prefix);
      const kv = engine.kvBytesPerPosition !== undefined ? engine.kvBytesPerPosition * row.prefix : kvBytes(shape, row.prefix, 2);
      const limitMs = rooflineMs(flops, decodeWeightBytes(shape, engine.weightType) + kv, limits.matmulTflops, limits.copyGBps);
      const torchCell = row.cache === 'full' ? (torch ? cell(torch.medianMs, 1, torch.error) : 'not run') : '-';
      rows.push([engine.shape, String(row.prefix), String(row.question), cacheName(row.cache), cell(row.medianMs, 1, row.error), torchCell, num(limitMs, 1)]);
    }
  }
  return {
    title: 'Time from question to first token against a prefilled prefix (ms)',
    columns: [
      ...left('shape'),
      ...right('prefix', 'question'),
      ...left('cache'),
      ...right('engine ms', 'PyTorch ms', 'limit ms'),
    ],
    rows,
    notes: [
      'Full cache: the question prefilled onto the prefix, then the first token. SnapKV: the question prefilled against the prefix, selection and gather into a compact cache, then the first token.',
      'Limit: the larger of the question\'s FLOPs at the bf16 rate and the weights plus the prefix\'s KV read once at the copy bandwidth.',
    ],
  };
}

function oneShotTarget(search: OneShotSearch): string {
  if (search.shape !== 'qwen2.5-coder-7b') return '-';
  if (search.longestOk >= TARGETS.oneShotTokens) return oneShotVerdict(search.longestOk).text;
  if (search.stoppedBy === 'time' || search.stoppedBy === 'cap' || search.stoppedBy === 'cut-off') {
    return `not decided (stopped by ${search.stoppedBy} after ${search.longestOk})`;
  }
  return oneShotVerdict(search.longestOk).text;
}

function stopText(search: OneShotSearch): string {
  if (search.stoppedBy === 'time' && search.nextPredictedMs !== undefined) {
    return `stopped by time (the next, about ${Math.round(search.nextPredictedMs / 1000)} s, would not fit)`;
  }
  return `stopped by ${search.stoppedBy}`;
}

function attemptOutcome(outcome: OneShotAttempt['outcome'], error: string | undefined): string {
  if (outcome === 'ok') return 'ok';
  if (outcome === 'unfinished') return 'unfinished: the run was cut off during it';
  return error ?? outcome;
}

export function oneShotTable(report: GpuBenchReport): Table {
  const rows: string[][] = [];
  for (const engine of report.engine.shapes) {
    const search = engine.oneShot;
    if (!search) continue;
    for (const a of search.attempts) {
      rows.push([engine.shape, String(a.tokens), attemptOutcome(a.outcome, a.error), a.ms === undefined ? '-' : num(a.ms / 1000, 1), a.cacheBytes === undefined ? '-' : fmtBytes(a.cacheBytes), '']);
    }
    rows.push([engine.shape, `longest: ${search.longestOk}`, stopText(search), '', '', oneShotTarget(search)]);
    if (search.plannedLongest !== undefined) {
      rows.push([engine.shape, `planned: ${search.plannedLongest}`, 'the memory plan (planOneShot): longest prompt that fits', '', '', '']);
    }
  }
  return {
    title: `One-shot mode: the longest prompt (doubling until out of memory; budget per search below)`,
    columns: [
      ...left('shape'),
      ...right('prompt tokens'),
      ...left('outcome'),
      ...right('seconds', 'compact cache'),
      ...left(`target (7B: past ${TARGETS.oneShotTokens.toLocaleString('en-US')} tokens)`),
    ],
    rows,
    notes: report.engine.shapes
      .filter((s) => s.oneShot)
      .map((s) => `${s.shape}: SnapKV budget ${s.oneShot!.budget}; each prompt compressed layer by layer (Model.compressOneShot).`),
  };
}

/** Every target of the issue with its verdict, for the summary list. */
export function targetLines(report: GpuBenchReport, limits: MeasuredLimits): string[] {
  const lines: string[] = [];
  for (const engine of report.engine.shapes) {
    const shape = SHAPES[engine.shape];
    const p = engine.prefill.find((r) => r.tokens === TARGETS.prefillLength);
    if (p) {
      const achieved = p.medianMs ? prefillTflops(shape, p.tokens, p.medianMs) : NaN;
      lines.push(`${engine.shape}: prefill at ${p.tokens} at ≥ ${TARGETS.prefillFractionOfMatmul * 100}% of the bf16 rate: ${prefillVerdict(achieved, limits.matmulTflops).text} (${num(achieved, 1)} of ${num(limits.matmulTflops, 1)} TFLOP/s)`);
    }
    for (const row of engine.decode.filter((r) => r.cache !== 'full')) {
      const { weightsMs } = decodeLimits(engine, row, limits);
      const verdict = compactDecodeVerdict(row.medianMsPerToken ?? NaN, weightsMs);
      lines.push(`${engine.shape}: decode at ${row.context} from ${cacheName(row.cache)} within ${TARGETS.compactDecodeOverWeightLimit}x of ${num(weightsMs, 2)} ms: ${row.error ?? verdict.text}${row.error ? '' : ` (${num(row.medianMsPerToken ?? NaN, 2)} ms)`}`);
    }
    if (engine.oneShot && engine.shape === 'qwen2.5-coder-7b') lines.push(`${engine.shape}: one-shot longest prompt ${engine.oneShot.longestOk} (stopped by ${engine.oneShot.stoppedBy}): ${oneShotTarget(engine.oneShot)}`);
  }
  return lines;
}

/** Counts of targets met and missed (for the summary line). */
export function targetSummary(lines: readonly string[]): { met: number; missed: number } {
  return { met: lines.filter((l) => /: met/.test(l)).length, missed: lines.filter((l) => /missed/.test(l)).length };
}

export function renderReport(report: GpuBenchReport): string {
  const limits = measuredLimits(report);
  const out: string[] = [];
  out.push(`# GPU benchmark: ${report.device.gpu}, ${report.startedAt.slice(0, 10)}`, '');
  if (!report.complete) out.push('**Incomplete:** the run was still going (or was cut off) when this was written.', '');
  if (report.engine.error) out.push(`**The engine was not measured:** ${report.engine.errorCode ? `${report.engine.errorCode}: ` : ''}${report.engine.error}`, '');
  if (report.torch && report.torch.status !== 'ok') out.push(`**PyTorch baseline ${report.torch.status}:** ${report.torch.reason}`, '');
  if (!Number.isFinite(limits.matmulTflops) || !Number.isFinite(limits.copyGBps)) {
    out.push('**Physical limits not measured** (they come from the PyTorch run): limit and target columns read n/a.', '');
  }
  out.push('## Commands', '', '```bash', ...report.commands, ...(report.torch ? [report.torch.command] : []), '```', '');
  const tables: Table[] = [machineTable(report, limits)];
  if (report.engine.shapes.some((s) => s.prefill.length > 0)) tables.push(prefillTable(report, limits));
  if (report.engine.shapes.some((s) => s.decode.length > 0)) tables.push(decodeTable(report, limits));
  if (report.engine.shapes.some((s) => s.ttft.length > 0)) tables.push(ttftTable(report, limits));
  if (report.engine.shapes.some((s) => s.oneShot)) tables.push(oneShotTable(report));
  for (const table of tables) out.push(renderTable(table), '');
  const lines = targetLines(report, limits);
  if (lines.length > 0) {
    const { met, missed } = targetSummary(lines);
    out.push('## Targets (issue 7)', '', `${met} met, ${missed} missed, ${lines.length - met - missed} not decided.`, '', ...lines.map((l) => `- ${l}`), '');
  }
  out.push('## Notes', '', 'Why each missed target was missed, and what would close it: written by whoever ran this (bench/gpu/README.md).', '');
  return out.join('\n');
}
