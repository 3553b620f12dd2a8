// SnapKV question compression (ours only; llama.cpp has no counterpart): one
// long prefill, truncated to each length, and the last 32 prompt tokens asked
// as the question against it.
import { Engine } from '../../server/src/engine';
import { median, nowMs } from '../measure';
import { benchPrompt } from './engine-timing';
import { PeerModelFile } from './model-files';

const WINDOW = 32;
const BUDGET = 2048;

export interface SnapkvRow {
  promptTokens: number;
  runsMs: number[];
  medianMs: number;
  keptBytes: number;
}

export interface SnapkvResult {
  file: string;
  shape: string;
  type: string;
  prefillTokens: number;
  prefillMs: number;
  rows: SnapkvRow[];
}

export async function measureSnapkv(
  file: PeerModelFile,
  lengths: readonly number[],
  threads: number,
  repeats: number,
  log: (line: string) => void,
): Promise<SnapkvResult> {
  const model = await Engine.load(file.path, { backend: 'cpu', threads });
  try {
    const longest = Math.max(...lengths);
    const prompt = Int32Array.from(benchPrompt(longest));
    log(`snapkv ${file.shape.name} ${file.type}: prefilling ${longest - WINDOW} tokens once`);
    const started = nowMs();
    const prefix = await model.prefill(prompt.subarray(0, longest - WINDOW), { logits: 'none', capacity: longest + 8 });
    const prefillMs = nowMs() - started;
    try {
      const rows: SnapkvRow[] = [];
      for (const length of [...lengths].sort((a, b) => b - a)) {
        prefix.truncate(length - WINDOW);
        const question = prompt.subarray(length - WINDOW, length);
        const runsMs: number[] = [];
        let keptBytes = 0;
        for (let r = 0; r < repeats; r++) {
          const start = nowMs();
          const compact = await prefix.query(question, { window: WINDOW, budget: BUDGET, kernel: 7, pooling: 'max', reserveTokens: 1 });
          runsMs.push(nowMs() - start);
          keptBytes = compact.stats().usedBytes;
          compact.dispose();
        }
        log(`  ${length} tokens: compression ${median(runsMs).toFixed(0)} ms`);
        rows.push({ promptTokens: length, runsMs, medianMs: median(runsMs), keptBytes });
      }
      rows.sort((a, b) => a.promptTokens - b.promptTokens);
      return { file: file.path, shape: file.shape.name, type: file.type, prefillTokens: longest - WINDOW, prefillMs, rows };
    } finally {
      prefix.dispose();
    }
  } finally {
    model.dispose();
  }
}

export const SNAPKV_SETTINGS = { window: WINDOW, budget: BUDGET, kernel: 7, pooling: 'max' } as const;
