// Command line of the peer bench: what to measure and how large.
import * as path from 'path';
import { defaultScratchDir } from './llama-cpp-package';
import { PeerFileType, PeerShape, parseFileType, parseShape } from './shapes';
import { UsageRequested } from '../usage';

export type PeerSection = 'speed' | 'snapkv' | 'logits' | 'ask';
export const PEER_SECTIONS: readonly PeerSection[] = ['speed', 'snapkv', 'logits', 'ask'];

export interface PeerOptions {
  sections: PeerSection[];
  threads: number;
  scratch: string;
  modelsDir: string;
  shapes: PeerShape[];
  types: PeerFileType[];
  prefillLengths: number[];
  decodeContexts: number[];
  decodeTokens: number;
  repeats: number;
  snapkvLengths: number[];
  snapkvType: PeerFileType;
  logitsShape: PeerShape;
  logitsTypes: PeerFileType[];
  logitsPrompts: number;
  logitsPromptLength: number;
  /** The engine's exact path (f32 products, f32 KV) in the logits comparison, so its own rounding drops out. */
  logitsExact: boolean;
  askShape: PeerShape;
  askFolder: string;
  askQuestion: string;
  askMaxTokens: number;
  out: string | undefined;
  quick: boolean;
}

export const USAGE = `npm run bench:peer -- [options]   (node out/bench/peer/peer-bench.js [options])

  --quick                  a minutes-long pass: cut-down shapes, short prompts, one run each
  --sections LIST          speed,snapkv,logits,ask (default: all)
  --threads N              threads of both engines (default 2)
  --scratch DIR            where node-llama-cpp is installed (default ~/.cache/snapkv-code/peer)
  --models DIR             where the GGUF files are written and reused (default <scratch>/models)
  --shapes LIST            qwen2.5-0.5b,qwen2.5-coder-1.5b (also qwen2.5-0.5b-4l, qwen2.5-coder-1.5b-4l)
  --types LIST             file types of the speed rows (default Q8_0,Q4_K_M,F16)
  --prefill LIST           prompt lengths of the prefill rows (default 512,2048,8192)
  --decode LIST            context lengths of the decode rows (default 512,8192)
  --decode-tokens N        tokens generated per decode row (default 33; the first is not counted)
  --repeats N              measured prefills per row, the median reported (default 3)
  --snapkv LIST            prompt lengths of the SnapKV compression rows (default 8192,32768)
  --snapkv-type T          file type of the SnapKV rows (default Q4_K_M)
  --logits-shape S         shape of the logits comparison (default qwen2.5-coder-1.5b-4l)
  --logits-types LIST      default F16,Q8_0,Q4_0,Q4_K_M,Q5_K_M,Q6_K
  --logits-prompts N       prompts compared per type (default 16), --logits-length N tokens each (default 128)
  --logits-exact           compare the engine's exact path (f32 products and KV) instead of its default
  --ask-shape S            model of the snapkv-code ask timing (default qwen2.5-coder-1.5b, Q4_K_M)
  --ask-folder DIR         folder asked about (default server/src/cli)
  --ask-question TEXT      the question
  --ask-max-tokens N       answer length (default 32)
  --out FILE               results JSON (default bench/results/peer-latest.json)
`;

const list = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive integer, got ${text}`);
  return n;
}

function defaults(quick: boolean, repoRoot: string): PeerOptions {
  const scratch = defaultScratchDir();
  const full: PeerOptions = {
    sections: [...PEER_SECTIONS],
    threads: 2,
    scratch,
    modelsDir: path.join(scratch, 'models'),
    shapes: [parseShape('qwen2.5-0.5b'), parseShape('qwen2.5-coder-1.5b')],
    types: ['Q8_0', 'Q4_K_M', 'F16'],
    prefillLengths: [512, 2048, 8192],
    decodeContexts: [512, 8192],
    decodeTokens: 33,
    repeats: 3,
    snapkvLengths: [8192, 32768],
    snapkvType: 'Q4_K_M',
    logitsShape: parseShape('qwen2.5-coder-1.5b-4l'),
    logitsTypes: ['F16', 'Q8_0', 'Q4_0', 'Q4_K_M', 'Q5_K_M', 'Q6_K'],
    logitsPrompts: 16,
    logitsPromptLength: 128,
    logitsExact: false,
    askShape: parseShape('qwen2.5-coder-1.5b'),
    askFolder: path.join(repoRoot, 'server', 'src', 'cli'),
    askQuestion: 'Which command-line flags does snapkv-code accept, and where are they parsed?',
    askMaxTokens: 32,
    out: undefined,
    quick,
  };
  if (!quick) return full;
  return {
    ...full,
    shapes: [parseShape('qwen2.5-0.5b-4l')],
    types: ['Q8_0', 'Q4_K_M'],
    prefillLengths: [512],
    decodeContexts: [512],
    decodeTokens: 9,
    repeats: 1,
    snapkvLengths: [2048],
    logitsShape: parseShape('qwen2.5-0.5b-4l'),
    logitsTypes: ['Q8_0', 'Q4_K_M'],
    logitsPrompts: 4,
    logitsPromptLength: 64,
    askShape: parseShape('qwen2.5-0.5b-4l'),
    askMaxTokens: 8,
  };
}

export function parsePeerOptions(argv: readonly string[], repoRoot: string): PeerOptions {
  const options = defaults(argv.includes('--quick'), repoRoot);
  let modelsSet = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick': break;
      case '--sections':
        options.sections = list(value()).map((s) => {
          const section = PEER_SECTIONS.find((known) => known === s);
          if (!section) throw new Error(`unknown section ${s}; choose from ${PEER_SECTIONS.join(', ')}`);
          return section;
        });
        break;
      case '--threads': options.threads = positive(flag, value()); break;
      case '--scratch': options.scratch = path.resolve(value()); break;
      case '--models': options.modelsDir = path.resolve(value()); modelsSet = true; break;
      case '--shapes': options.shapes = list(value()).map(parseShape); break;
      case '--types': options.types = list(value()).map(parseFileType); break;
      case '--prefill': options.prefillLengths = list(value()).map((v) => positive(flag, v)); break;
      case '--decode': options.decodeContexts = list(value()).map((v) => positive(flag, v)); break;
      case '--decode-tokens': options.decodeTokens = Math.max(2, positive(flag, value())); break;
      case '--repeats': options.repeats = positive(flag, value()); break;
      case '--snapkv': options.snapkvLengths = list(value()).map((v) => positive(flag, v)); break;
      case '--snapkv-type': options.snapkvType = parseFileType(value()); break;
      case '--logits-shape': options.logitsShape = parseShape(value()); break;
      case '--logits-types': options.logitsTypes = list(value()).map(parseFileType); break;
      case '--logits-prompts': options.logitsPrompts = positive(flag, value()); break;
      case '--logits-length': options.logitsPromptLength = positive(flag, value()); break;
      case '--logits-exact': options.logitsExact = true; break;
      case '--ask-shape': options.askShape = parseShape(value()); break;
      case '--ask-folder': options.askFolder = path.resolve(value()); break;
      case '--ask-question': options.askQuestion = value(); break;
      case '--ask-max-tokens': options.askMaxTokens = positive(flag, value()); break;
      case '--out': options.out = path.resolve(value()); break;
      case '--help':
      case '-h':
        throw new UsageRequested(USAGE);
      default: throw new Error(`unknown option ${flag}\n\n${USAGE}`);
    }
  }
  if (!modelsSet) options.modelsDir = path.join(options.scratch, 'models');
  return options;
}
