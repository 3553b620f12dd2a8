// One GPU benchmark run as JSON (everything measured, with the commands and
// the machine) and the merging of a run that was split over several device
// calls (--resume).
import * as fs from 'fs';
import * as path from 'path';
import { DeviceInfo } from './device-info';
import { GpuBenchOptions, Section } from './options';
import { EngineResults, EngineShapeResult, TorchOutcome } from './results';

export interface GpuBenchReport {
  version: 1;
  startedAt: string;
  finishedAt?: string;
  /** False while the run is still going (the files are rewritten after every section). */
  complete: boolean;
  /** Every command whose results are in this report, earlier calls' first. */
  commands: string[];
  /** The sections this run (and, merged, the earlier ones) measured. */
  sections: Section[];
  options: GpuBenchOptions;
  device: DeviceInfo;
  engine: EngineResults;
  torch?: TorchOutcome;
}

export function readReport(file: string): GpuBenchReport {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as GpuBenchReport;
  if (report.version !== 1 || !report.engine || !Array.isArray(report.commands)) {
    throw new Error(`${file} is not a GPU benchmark report (bench/gpu-bench.ts writes them)`);
  }
  return report;
}

/**
 * The current run with an earlier one folded in: of each shape, the sections
 * not run now come from the earlier run; so do its shapes not run now, and
 * its PyTorch results when torch did not run now.
 */
export function mergeReports(earlier: GpuBenchReport, current: GpuBenchReport): GpuBenchReport {
  const ran = new Set(current.sections);
  const shapes: EngineShapeResult[] = [];
  for (const old of earlier.engine.shapes) {
    const now = current.engine.shapes.find((s) => s.shape === old.shape);
    if (!now) {
      shapes.push(old);
      continue;
    }
    const merged: EngineShapeResult = {
      ...now,
      kvBytesPerPosition: now.kvBytesPerPosition ?? old.kvBytesPerPosition,
      prefixPlacement: now.prefixPlacement ?? old.prefixPlacement,
    };
    if (!ran.has('prefill')) merged.prefill = old.prefill;
    if (!ran.has('decode')) merged.decode = old.decode;
    if (!ran.has('ttft')) merged.ttft = old.ttft;
    if (!ran.has('oneshot')) merged.oneShot = old.oneShot;
    shapes.push(merged);
  }
  for (const now of current.engine.shapes) if (!shapes.some((s) => s.shape === now.shape)) shapes.push(now);
  return {
    ...current,
    startedAt: earlier.startedAt,
    commands: [...earlier.commands, ...current.commands],
    sections: [...new Set([...earlier.sections, ...current.sections])],
    engine: { ...current.engine, shapes },
    torch: ran.has('torch') ? current.torch : earlier.torch,
  };
}

/** bench/results/gpu-2026-11-24 (the date of the run's start). */
export function reportBaseName(report: Pick<GpuBenchReport, 'startedAt' | 'options'>): string {
  const date = report.startedAt.slice(0, 10);
  const suffix = report.options.quick ? `-${report.options.backend}-quick` : report.options.backend === 'cpu' ? '-cpu' : '';
  return `gpu-${date}${suffix}`;
}

/** Writes <dir>/<base>.json and <dir>/<base>.md; returns their paths. */
export function writeReportFiles(dir: string, base: string, report: GpuBenchReport, markdown: string): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `${base}.json`);
  const md = path.join(dir, `${base}.md`);
  fs.writeFileSync(json, `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(md, markdown);
  return { json, markdown: md };
}
