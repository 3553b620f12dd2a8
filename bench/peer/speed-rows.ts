// Prefill and decode of one file by both engines, in the same run, with the
// same threads: the rows of the peer table.
import { median } from '../measure';
import { EngineName, TimedEngine, benchPrompt, loadLlamaCpp, loadSnapkv } from './engine-timing';
import { PeerLlama } from './llama-cpp-package';
import { PeerModelFile } from './model-files';

export interface PrefillRow {
  tokens: number;
  runsMs: number[];
  medianMs: number;
  tokensPerSecond: number;
}

export interface DecodeRow {
  context: number;
  medianMsPerToken: number;
  generated: number;
}

export interface EngineRun {
  engine: EngineName;
  loadMs: number;
  prefill: PrefillRow[];
  decode: DecodeRow[];
}

export interface SpeedPlan {
  threads: number;
  prefillLengths: readonly number[];
  decodeContexts: readonly number[];
  decodeTokens: number;
  repeats: number;
  log: (line: string) => void;
}

async function measureEngine(engine: TimedEngine, loadMs: number, plan: SpeedPlan, label: string): Promise<EngineRun> {
  // One unmeasured prefill: page faults of a freshly mapped file, first-touch allocations.
  await engine.prefillMs(benchPrompt(Math.min(...plan.prefillLengths)));
  const prefill: PrefillRow[] = [];
  for (const tokens of plan.prefillLengths) {
    const prompt = benchPrompt(tokens);
    const runsMs: number[] = [];
    for (let r = 0; r < plan.repeats; r++) runsMs.push(await engine.prefillMs(prompt));
    const medianMs = median(runsMs);
    prefill.push({ tokens, runsMs, medianMs, tokensPerSecond: tokens / (medianMs / 1000) });
    plan.log(`  ${label} ${engine.name}: prefill ${tokens}: ${(tokens / (medianMs / 1000)).toFixed(1)} tok/s`);
  }
  const decode: DecodeRow[] = [];
  for (const context of plan.decodeContexts) {
    const run = await engine.decode(benchPrompt(context), plan.decodeTokens);
    decode.push({ context, ...run });
    plan.log(`  ${label} ${engine.name}: decode at ${context}: ${run.medianMsPerToken.toFixed(2)} ms/token`);
  }
  return { engine: engine.name, loadMs, prefill, decode };
}

/** llama.cpp first, then ours, one engine in memory at a time. */
export async function measureFile(llama: PeerLlama, file: PeerModelFile, plan: SpeedPlan): Promise<EngineRun[]> {
  const label = `${file.shape.name} ${file.type}`;
  const longest = Math.max(...plan.prefillLengths, ...plan.decodeContexts.map((c) => c + plan.decodeTokens));
  const runs: EngineRun[] = [];
  for (const load of [
    () => loadLlamaCpp(llama, file.path, plan.threads, longest + 8),
    () => loadSnapkv(file.path, plan.threads),
  ]) {
    const { engine, loadMs } = await load();
    try {
      runs.push(await measureEngine(engine, loadMs, plan, label));
    } finally {
      await engine.dispose();
    }
  }
  return runs;
}
