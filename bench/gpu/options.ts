// Command-line options of `npm run bench:gpu` (bench/gpu-bench.ts), with the
// issue's defaults for a GPU, a --quick preset that runs on a CPU in a minute,
// and named row sets (--preset) for device calls with minutes to spend.
import * as path from 'path';
import { WeightType } from '../bench-model';
import { repoRoot } from '../native-tools';
import { ShapeName, parseShapeName } from './shapes';
import { UsageRequested } from '../usage';

export const SECTIONS = ['prefill', 'decode', 'ttft', 'oneshot', 'torch'] as const;
export type Section = (typeof SECTIONS)[number];

export interface GpuBenchOptions {
  backend: 'cuda' | 'cpu';
  quick: boolean;
  shapes: ShapeName[];
  weightType: WeightType;
  prefillLengths: number[];
  decodeLengths: number[];
  budgets: number[];
  /** Prefix of the time-to-first-token rows. */
  ttftPrefix: number;
  /** Tokens of a question (the prompt's suffix). */
  question: number;
  /** SnapKV observation window. */
  window: number;
  /** Tokens generated per decode row (the first one is not counted). */
  decodeTokens: number;
  /** Measured runs per prefill length and per TTFT row, after one warm-up. */
  repeats: number;
  /** Tokens per prefill step; undefined: the engine's default. */
  chunkTokens?: number;
  threads?: number;
  /** GPU memory the engine may use (default: the engine's, what is free less a margin). */
  gpuMemoryBytes?: number;
  /** Keep the prefix cache in pinned host memory, streamed to the GPU a layer at a time. */
  prefixInHostMemory: boolean;
  oneShotShapes: ShapeName[];
  oneShotStart: number;
  oneShotCap: number;
  oneShotBudget: number;
  sections: Section[];
  /** Rows that would start after this many seconds are skipped (and say so). */
  timeBudgetSeconds?: number;
  torchTimeoutSeconds: number;
  python: string;
  modelsDir: string;
  outDir: string;
  /** An earlier run's JSON whose sections not run now are kept. */
  resume?: string;
  /** The --preset applied, if any (recorded in the report). */
  preset?: PresetName;
  /** Print the rows the run would measure, and measure nothing. */
  dryRun: boolean;
}

type RowSet = Pick<GpuBenchOptions, 'shapes' | 'prefillLengths' | 'decodeLengths' | 'budgets' | 'ttftPrefix' | 'sections'>;

/**
 * Named row sets. `first-run`: the rows of the first GPU session (issue 19),
 * sized for one device call next to the build and the GPU tests: the 1.5B
 * shape, prefill at 8K and 32K, decode at 32K from the full cache and from
 * SnapKV 2048, question to first token against 32K, PyTorch on the same rows.
 * With --quick, the same rows scaled down to the tiny shape (a CPU smoke run).
 */
export const PRESETS: Readonly<Record<'first-run', (quick: boolean) => RowSet>> = {
  'first-run': (quick) =>
    quick
      ? { shapes: ['tiny'], prefillLengths: [256, 1024], decodeLengths: [1024], budgets: [128], ttftPrefix: 1024, sections: ['prefill', 'decode', 'ttft', 'torch'] }
      : {
          shapes: ['qwen2.5-coder-1.5b'],
          prefillLengths: [8192, 32768],
          decodeLengths: [32768],
          budgets: [2048],
          ttftPrefix: 32768,
          sections: ['prefill', 'decode', 'ttft', 'torch'],
        },
};
export type PresetName = keyof typeof PRESETS;

function presetRows(name: string | undefined, quick: boolean): RowSet {
  if (name === undefined) throw new Error('--preset needs a value');
  if (!Object.prototype.hasOwnProperty.call(PRESETS, name)) throw new Error(`unknown preset ${name}; choose from ${Object.keys(PRESETS).join(', ')}`);
  return PRESETS[name as PresetName](quick);
}

export const USAGE = `usage: npm run bench:gpu -- [options]   (or node out/bench/gpu-bench.js [options])
  --backend cuda|cpu          engine backend (default cuda)
  --quick                     tiny shape, short prompts, scaled budgets: a smoke run (use with --backend cpu off a GPU)
  --preset first-run          the first GPU session's rows: 1.5B shape, prefill 8K and 32K, decode at 32K (full cache
                              and SnapKV 2048), question to first token at 32K, PyTorch alike (with --quick: tiny, scaled)
  --shapes a,b                qwen2.5-coder-1.5b, qwen2.5-coder-7b, tiny (default: the two real shapes)
  --type BF16|F16|Q8_0|F32    weight type of the engine's files (default BF16, as the PyTorch baseline)
  --lengths 8K,32K            prefill and decode lengths at once; or --prefill-lengths / --decode-lengths
  --budgets 1024,2048,4096    SnapKV budgets of the compact caches
  --ttft-prefix 128K          prefix of the time-to-first-token rows (question: --question 64)
  --repeats N                 measured runs per prefill and TTFT row, after one warm-up (default 3)
  --decode-tokens N           tokens generated per decode row (default 65: 64 measured steps)
  --chunk N                   engine prefill step in tokens (default: the engine's)
  --oneshot-shapes a,b        shapes of the one-shot search (default qwen2.5-coder-7b)
  --oneshot-start 128K --oneshot-cap 4M --oneshot-budget 2048
  --sections a,b              of ${SECTIONS.join(', ')} (default: all); --no-torch drops torch
  --time-budget SECONDS       skip rows that would start later (a device call's limit)
  --torch-timeout SECONDS     limit of the PyTorch run (default 1200)
  --python PATH               interpreter with torch and transformers (default python3)
  --threads N                 CPU threads of the engine
  --gpu-memory-mib N          GPU memory the engine may use (default: what is free, less a margin)
  --prefix-in-host            keep prefix caches in pinned host memory (streamed a layer at a time)
  --models-dir DIR            where the GGUF files are written and reused (default bench/tmp/gpu-models)
  --out-dir DIR               where gpu-<date>.md and .json go (default bench/results; bench/tmp with --quick)
  --resume FILE               merge an earlier run's JSON: its sections not run now are kept
  --dry-run                   print the rows this run would measure, and measure nothing`;

/** '8192', '8K', '1M' (powers of two: K = 1024). */
export function parseLength(text: string): number {
  const match = /^(\d+)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a length: '${text}' (use e.g. 8192, 8K or 1M)`);
  const unit = match[2].toUpperCase();
  const value = Number(match[1]) * (unit === 'K' ? 1024 : unit === 'M' ? 1024 * 1024 : 1);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`not a positive length: '${text}'`);
  return value;
}

function lengths(text: string): number[] {
  return text.split(',').filter((s) => s.trim()).map(parseLength);
}

function shapes(text: string): ShapeName[] {
  return text.split(',').filter((s) => s.trim()).map(parseShapeName);
}

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${flag} needs a positive whole number, not '${text}'`);
  return value;
}

export function defaultOptions(quick: boolean): GpuBenchOptions {
  const root = repoRoot();
  const common = {
    backend: 'cuda' as const,
    quick,
    weightType: 'BF16' as const,
    question: 64,
    window: 32,
    sections: [...SECTIONS],
    torchTimeoutSeconds: 1200,
    python: 'python3',
    prefixInHostMemory: false,
    dryRun: false,
    modelsDir: path.join(root, 'bench', 'tmp', 'gpu-models'),
  };
  if (quick) {
    return {
      ...common,
      shapes: ['tiny'],
      prefillLengths: [256, 512, 1024],
      decodeLengths: [512, 1024],
      budgets: [64, 128, 256],
      ttftPrefix: 1024,
      decodeTokens: 17,
      repeats: 2,
      oneShotShapes: ['tiny'],
      oneShotStart: 256,
      oneShotCap: 2048,
      oneShotBudget: 128,
      torchTimeoutSeconds: 120,
      outDir: path.join(root, 'bench', 'tmp', 'gpu-results'),
    };
  }
  return {
    ...common,
    shapes: ['qwen2.5-coder-1.5b', 'qwen2.5-coder-7b'],
    prefillLengths: [8192, 32768, 131072],
    decodeLengths: [16384, 65536, 131072],
    budgets: [1024, 2048, 4096],
    ttftPrefix: 131072,
    decodeTokens: 65,
    repeats: 3,
    oneShotShapes: ['qwen2.5-coder-7b'],
    oneShotStart: 131072,
    oneShotCap: 4 * 1024 * 1024,
    oneShotBudget: 2048,
    outDir: path.join(root, 'bench', 'results'),
  };
}

export function parseOptions(argv: readonly string[]): GpuBenchOptions {
  const quick = argv.includes('--quick');
  const options = defaultOptions(quick);
  // A preset replaces the row set wherever it stands; the options given with it refine it.
  const presetAt = argv.indexOf('--preset');
  if (presetAt >= 0) {
    Object.assign(options, presetRows(argv[presetAt + 1], quick));
    options.preset = argv[presetAt + 1] as PresetName;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--quick': break;
      case '--preset': value(); break;
      case '--dry-run': options.dryRun = true; break;
      case '--backend': {
        const backend = value();
        if (backend !== 'cuda' && backend !== 'cpu') throw new Error(`--backend takes cuda or cpu, not '${backend}'`);
        options.backend = backend;
        break;
      }
      case '--shapes': options.shapes = shapes(value()); break;
      case '--type': {
        const type = value().toUpperCase();
        if (type !== 'BF16' && type !== 'F16' && type !== 'Q8_0' && type !== 'F32') throw new Error(`--type takes BF16, F16, Q8_0 or F32, not '${type}'`);
        options.weightType = type;
        break;
      }
      case '--lengths': options.prefillLengths = options.decodeLengths = lengths(value()); break;
      case '--prefill-lengths': options.prefillLengths = lengths(value()); break;
      case '--decode-lengths': options.decodeLengths = lengths(value()); break;
      case '--budgets': options.budgets = lengths(value()); break;
      case '--ttft-prefix': options.ttftPrefix = parseLength(value()); break;
      case '--question': options.question = positive(value(), arg); break;
      case '--window': options.window = positive(value(), arg); break;
      case '--repeats': options.repeats = positive(value(), arg); break;
      case '--decode-tokens': options.decodeTokens = Math.max(2, positive(value(), arg)); break;
      case '--chunk': options.chunkTokens = positive(value(), arg); break;
      case '--threads': options.threads = positive(value(), arg); break;
      case '--gpu-memory-mib': options.gpuMemoryBytes = positive(value(), arg) * 1024 * 1024; break;
      case '--prefix-in-host': options.prefixInHostMemory = true; break;
      case '--oneshot-shapes': options.oneShotShapes = shapes(value()); break;
      case '--oneshot-start': options.oneShotStart = parseLength(value()); break;
      case '--oneshot-cap': options.oneShotCap = parseLength(value()); break;
      case '--oneshot-budget': options.oneShotBudget = positive(value(), arg); break;
      case '--sections': {
        const wanted = value().split(',').map((s) => s.trim()).filter(Boolean);
        for (const s of wanted) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`unknown section ${s}; choose from ${SECTIONS.join(', ')}`);
        options.sections = wanted as Section[];
        break;
      }
      case '--no-torch': options.sections = options.sections.filter((s) => s !== 'torch'); break;
      case '--time-budget': options.timeBudgetSeconds = positive(value(), arg); break;
      case '--torch-timeout': options.torchTimeoutSeconds = positive(value(), arg); break;
      case '--python': options.python = value(); break;
      case '--models-dir': options.modelsDir = path.resolve(value()); break;
      case '--out-dir': options.outDir = path.resolve(value()); break;
      case '--resume': options.resume = path.resolve(value()); break;
      case '--help':
      case '-h':
        throw new UsageRequested(USAGE);
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  if (options.question < options.window) throw new Error(`the question (${options.question} tokens) must be at least the SnapKV window (${options.window})`);
  for (const length of options.decodeLengths) {
    if (length <= options.question) throw new Error(`decode length ${length} must be longer than the question (${options.question} tokens)`);
  }
  return options;
}

