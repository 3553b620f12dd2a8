// The rows a GPU benchmark run will measure (printed by --dry-run, so a device
// call can be planned on a machine without a GPU) and, afterwards, how many of
// them were measured, failed or skipped (the last line of a run, which
// bench/gpu/run-on-gpu.sh copies into its summary).
import { cacheName } from './cache-name';
import { GpuBenchOptions } from './options';
import { GpuBenchReport } from './report';
import { CacheKind } from './results';

/** One line per row, in the order the run measures them (PyTorch first: its limits feed every table). */
export function plannedRows(o: GpuBenchOptions): string[] {
  const sections = new Set(o.sections);
  const rows: string[] = [];
  const caches: CacheKind[] = ['full', ...o.budgets];
  if (sections.has('torch')) {
    rows.push('torch    limits: bf16 matrix rate (torch.matmul), copy bandwidth (Tensor.copy_)');
    for (const shape of o.shapes) {
      rows.push(`torch    ${shape}: prefill ${o.prefillLengths.join(', ')}; decode at ${o.decodeLengths.join(', ')} (full cache); first token, ${o.question} tokens against ${o.ttftPrefix} (full cache)`);
    }
  }
  for (const shape of o.shapes) {
    if (sections.has('prefill')) for (const tokens of o.prefillLengths) rows.push(`prefill  ${shape}: ${tokens} tokens`);
    if (sections.has('ttft')) for (const cache of caches) rows.push(`ttft     ${shape}: ${o.question}-token question against ${o.ttftPrefix}, ${cacheName(cache)}`);
    if (sections.has('decode')) {
      for (const context of [...o.decodeLengths].sort((a, b) => b - a)) {
        for (const cache of [...o.budgets, 'full' as const]) rows.push(`decode   ${shape}: context ${context}, ${cacheName(cache)}, ${o.decodeTokens - 1} steps`);
      }
    }
  }
  if (sections.has('oneshot')) {
    for (const shape of o.oneShotShapes) rows.push(`oneshot  ${shape}: doubling from ${o.oneShotStart} to ${o.oneShotCap} tokens, budget ${o.oneShotBudget}`);
  }
  return rows;
}

export interface RowCounts {
  /** Engine rows the options ask for (prefill, decode, TTFT; one per one-shot search). */
  planned: number;
  measured: number;
  failed: number;
  /** Skipped for time (the call's budget ran out before they started). */
  skipped: number;
}

/** The engine rows of a report, counted against what its options planned. */
export function countRows(report: GpuBenchReport): RowCounts {
  const o = report.options;
  const sections = new Set(report.sections);
  const caches = o.budgets.length + 1;
  let planned = 0;
  if (sections.has('prefill')) planned += o.shapes.length * o.prefillLengths.length;
  if (sections.has('decode')) planned += o.shapes.length * o.decodeLengths.length * caches;
  if (sections.has('ttft')) planned += o.shapes.length * caches;
  if (sections.has('oneshot')) planned += o.oneShotShapes.length;
  const counts: RowCounts = { planned, measured: 0, failed: 0, skipped: 0 };
  const add = (error: string | undefined, measured: boolean): void => {
    if (error?.startsWith('skipped')) counts.skipped++;
    else if (error !== undefined || !measured) counts.failed++;
    else counts.measured++;
  };
  for (const shape of report.engine.shapes) {
    for (const row of shape.prefill) add(row.error, row.medianMs !== undefined);
    for (const row of shape.decode) add(row.error, row.medianMsPerToken !== undefined);
    for (const row of shape.ttft) add(row.error, row.medianMs !== undefined);
    if (shape.oneShot) add(undefined, shape.oneShot.longestOk > 0);
  }
  return counts;
}

/** 'rows: 6 measured, 0 failed, 0 skipped, 0 not reached (of 6 planned); PyTorch ok' */
export function rowCountLine(report: GpuBenchReport): string {
  const c = countRows(report);
  const reached = c.measured + c.failed + c.skipped;
  const torch = report.torch ? `PyTorch ${report.torch.status}${report.torch.status === 'ok' ? '' : `: ${report.torch.reason}`}` : 'PyTorch not run';
  return `rows: ${c.measured} measured, ${c.failed} failed, ${c.skipped} skipped, ${Math.max(0, c.planned - reached)} not reached (of ${c.planned} planned); ${torch}`;
}
