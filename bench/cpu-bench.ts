/**
 * CPU benchmark: `npm run bench` (or `node out/bench/cpu-bench.js [options]`).
 *
 *   --types Q8_0,F16,BF16,F32   weight types to measure (default: all four)
 *   --threads N                 engine and tool threads (default: every hardware thread)
 *   --fresh                     write the models into a temporary folder, removed at the end,
 *                               instead of reusing bench/tmp/
 *   --no-snapkv                 skip the SnapKV section (one 32K-token prefill: minutes on 2 cores)
 *   --no-kv                     skip the KV-type section (an 8K-token prefill per KV type)
 *   --only-kv                   run only the machine table and the KV-type section
 *
 * Prints markdown tables to stdout (progress goes to stderr) and writes the same
 * results to bench/results/cpu-latest.json.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { qwenVocab } from '../test/fixtures/qwen-vocab';
import { BenchModelFile, WeightType, ensureBenchModel } from './bench-model';
import { KernelRow, kernelSection } from './kernel-section';
import { logicalCpus, machineInfo, MachineInfo } from './machine';
import { modelSection } from './model-section';
import { BandwidthResult, PeakResult, measureBandwidth, measurePeak, repoRoot } from './native-tools';
import { kvSection } from './kv-section';
import { snapkvSection } from './snapkv-section';
import { BenchContext, BenchSection } from './section';
import { Table, fmt, fmtBytes, renderTable } from './tables';

const ALL_TYPES: readonly WeightType[] = ['Q8_0', 'F16', 'BF16', 'F32'];

interface Options {
  types: WeightType[];
  threads: number;
  fresh: boolean;
  snapkv: boolean;
  kv: boolean;
  /** Only the KV-type section (after the machine table). */
  onlyKv: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { types: [...ALL_TYPES], threads: logicalCpus(), fresh: false, snapkv: true, kv: true, onlyKv: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--types') {
      options.types = value().split(',').map((t) => {
        const type = t.trim().toUpperCase() as WeightType;
        if (!ALL_TYPES.includes(type)) throw new Error(`unknown weight type ${t}; choose from ${ALL_TYPES.join(', ')}`);
        return type;
      });
    } else if (arg === '--threads') {
      options.threads = Number(value());
      if (!Number.isInteger(options.threads) || options.threads <= 0) throw new Error('--threads needs a positive integer');
    } else if (arg === '--fresh') {
      options.fresh = true;
    } else if (arg === '--no-snapkv') {
      options.snapkv = false;
    } else if (arg === '--no-kv') {
      options.kv = false;
    } else if (arg === '--only-kv') {
      options.onlyKv = true;
    } else {
      throw new Error(`unknown option ${arg}\nusage: cpu-bench [--types Q8_0,F16,BF16,F32] [--threads N] [--fresh] [--no-snapkv] [--no-kv] [--only-kv]`);
    }
  }
  return options;
}

function machineTable(machine: MachineInfo, peak: PeakResult, bandwidth: BandwidthResult): Table {
  return {
    title: 'Machine',
    columns: [{ header: 'item' }, { header: 'value' }],
    rows: [
      ['date', machine.date],
      ['CPU', machine.cpuModel],
      ['threads used / logical CPUs', `${machine.threads} / ${machine.logicalCpus}`],
      ['SIMD (addon build)', `${machine.simd} (${peak.lanes} f32 lanes)`],
      ['memory', fmtBytes(machine.memoryBytes)],
      ['node', machine.node],
      ['load average at start (1 min)', fmt(machine.loadAverage, 2)],
      ['peak f32 FMA (snapkv-bench peak)', `${fmt(peak.peakGflops)} GFLOP/s`],
      ['memory read bandwidth (snapkv-bench bandwidth)', `${fmt(bandwidth.readGBps)} GB/s (${bandwidth.threads} threads, ${fmtBytes(bandwidth.bytes)} buffer)`],
    ],
  };
}

/** The logits matrix's T=1 bandwidth per type, once the kernel section has run. */
function logitsBandwidth(kernelRows: () => readonly KernelRow[] | undefined): (type: WeightType) => number | undefined {
  return (type) => kernelRows()?.find((r) => r.type === type && r.shape.perLayer === 0)?.matvec.weightGBps;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const root = repoRoot();
  const log = (line: string): void => {
    process.stderr.write(`[bench] ${line}\n`);
  };
  const started = Date.now();
  const cacheDir = options.fresh ? fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-bench-')) : path.join(root, 'bench', 'tmp');
  try {
    const machine = machineInfo(options.threads);
    log(`measuring peak on ${options.threads} threads`);
    const peak = await measurePeak(options.threads);
    log(`measuring memory read bandwidth on ${options.threads} threads`);
    const bandwidth = await measureBandwidth(options.threads);
    console.log(`${renderTable(machineTable(machine, peak, bandwidth))}\n`);

    const files = new Map<WeightType, BenchModelFile>();
    const context: BenchContext = {
      threads: options.threads,
      weightTypes: options.types,
      peak,
      bandwidth,
      modelFile(type) {
        let file = files.get(type);
        if (!file) {
          log(`preparing the ${type} bench model in ${cacheDir}`);
          file = ensureBenchModel(type, cacheDir);
          files.set(type, file);
        }
        return file;
      },
      log,
    };

    let kernelRows: readonly KernelRow[] | undefined;
    const sections: BenchSection[] = options.onlyKv ? [kvSection()] : [
      kernelSection(qwenVocab().tokens.length),
      modelSection(logitsBandwidth(() => kernelRows)),
      ...(options.kv ? [kvSection()] : []),
      ...(options.snapkv ? [snapkvSection()] : []),
    ];
    const results: Record<string, unknown> = {};
    for (const section of sections) {
      const sectionStart = Date.now();
      const result = await section.run(context);
      results[section.key] = result.json;
      if (section.key === 'kernels') kernelRows = (result.json as { rows: KernelRow[] }).rows;
      for (const table of result.tables) console.log(`${renderTable(table)}\n`);
      log(`${section.key} took ${fmt((Date.now() - sectionStart) / 1000)} s`);
    }

    const outDir = path.join(root, 'bench', 'results');
    fs.mkdirSync(outDir, { recursive: true });
    // A partial run (--only-kv) keeps its own file, so the full results stay.
    const outFile = path.join(outDir, options.onlyKv ? 'cpu-kv-latest.json' : 'cpu-latest.json');
    const report = { machine, peak, bandwidth, weightTypes: options.types, durationSeconds: (Date.now() - started) / 1000, ...results };
    fs.writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${path.relative(root, outFile)} (${fmt((Date.now() - started) / 1000)} s in all)`);
  } finally {
    if (options.fresh) fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
