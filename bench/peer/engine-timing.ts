// The two engines behind one small interface, so every row of the table is
// measured the same way: prefill from an empty cache, decode after a prompt.
import { promptTokens } from '../../test/fixtures/tiny-models';
import { Engine, Model } from '../../server/src/engine';
import { timeDecode } from '../engine-bench';
import { median, nowMs } from '../measure';
import { PeerContext, PeerLlama, PeerModel } from './llama-cpp-package';

export type EngineName = 'snapkv' | 'llama.cpp';

export interface DecodeRun {
  /** Per-token times after the first token. */
  medianMsPerToken: number;
  generated: number;
}

export interface TimedEngine {
  readonly name: EngineName;
  /** Milliseconds to prefill `tokens` into an empty cache (last token's logits computed). */
  prefillMs(tokens: readonly number[]): Promise<number>;
  /** Greedy decode of `count` tokens after `prompt`. */
  decode(prompt: readonly number[], count: number): Promise<DecodeRun>;
  dispose(): Promise<void>;
}

/** The same prompt for both engines: ordinary BPE tokens, seeded by length. */
export function benchPrompt(length: number): number[] {
  return promptTokens(length, length);
}

export async function loadSnapkv(file: string, threads: number): Promise<{ engine: TimedEngine; loadMs: number }> {
  const started = nowMs();
  const model: Model = await Engine.load(file, { backend: 'cpu', threads });
  const loadMs = nowMs() - started;
  const engine: TimedEngine = {
    name: 'snapkv',
    async prefillMs(tokens) {
      const start = nowMs();
      const prefix = await model.prefill(Int32Array.from(tokens), { logits: 'last', capacity: tokens.length + 1 });
      const ms = nowMs() - start;
      prefix.dispose();
      return ms;
    },
    async decode(prompt, count) {
      const prefix = await model.prefill(Int32Array.from(prompt), { logits: 'last', capacity: prompt.length + count + 1 });
      try {
        const timing = await timeDecode(prefix.generate({ maxTokens: count, temperature: 0 }));
        return { medianMsPerToken: timing.medianMsPerToken, generated: timing.generated };
      } finally {
        prefix.dispose();
      }
    },
    async dispose() {
      model.dispose();
    },
  };
  return { engine, loadMs };
}

/**
 * llama.cpp with one context as long as the longest row needs; its KV cache is
 * cleared between runs. Batch size: node-llama-cpp's default (512).
 */
export async function loadLlamaCpp(llama: PeerLlama, file: string, threads: number, contextSize: number): Promise<{ engine: TimedEngine; loadMs: number }> {
  const started = nowMs();
  const model: PeerModel = await llama.loadModel({ modelPath: file, gpuLayers: 0, useMmap: true });
  let context: PeerContext;
  try {
    context = await model.createContext({ contextSize, threads: { ideal: threads, min: threads }, sequences: 1 });
  } catch (error) {
    await model.dispose();
    throw error;
  }
  const loadMs = nowMs() - started;
  const sequence = context.getSequence();
  const engine: TimedEngine = {
    name: 'llama.cpp',
    async prefillMs(tokens) {
      await sequence.clearHistory();
      const start = nowMs();
      await sequence.evaluateWithoutGeneratingNewTokens([...tokens]);
      return nowMs() - start;
    },
    async decode(prompt, count) {
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
      const gaps: number[] = [];
      let generated = 0;
      let last = nowMs();
      // The last prompt token goes in with the generation, as our engine's first token comes from the prefill's logits.
      for await (const _token of sequence.evaluate([prompt[prompt.length - 1]], { temperature: 0, yieldEogToken: true })) {
        const now = nowMs();
        if (generated > 0) gaps.push(now - last);
        last = now;
        if (++generated >= count) break;
      }
      if (gaps.length === 0) throw new Error(`llama.cpp produced ${generated} tokens; need at least 2`);
      return { medianMsPerToken: median(gaps), generated };
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
  return { engine, loadMs };
}
