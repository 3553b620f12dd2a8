// Next-token probabilities of our engine and of llama.cpp on the same file and
// prompts. node-llama-cpp 3.21.1 returns probabilities, not logits (its
// greedy sampler passes the whole vocabulary through, so they are the softmax
// of the raw logits); ours are the softmax of the engine's last-token logits.
// With random weights the distribution is flat and greedy text means nothing,
// so the comparison stays at the level of probabilities.
import { promptTokens } from '../../test/fixtures/tiny-models';
import { Engine } from '../../server/src/engine';
import { PeerLlama } from './llama-cpp-package';
import { PeerModelFile } from './model-files';

export const TOP_K = 10;

export interface LogitsComparison {
  shape: string;
  type: string;
  prompts: number;
  promptLength: number;
  /** Over llama.cpp's top-k tokens of every prompt. */
  maxAbsError: number;
  maxRelError: number;
  meanRelError: number;
  /** Mean over prompts of KL(llama.cpp || ours), in nats. */
  meanKl: number;
  top1Agree: number;
  /** llama.cpp's top-1 probability, mean over prompts: how peaked the random model is. */
  meanTop1Probability: number;
  /** p1 - p2 of llama.cpp where the top-1 differs (empty when all agree). */
  disagreementMargins: number[];
}

function softmax64(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

function comparisonPrompts(count: number, length: number): number[][] {
  return Array.from({ length: count }, (_, i) => promptTokens(length, 1000 + i));
}

async function ourProbabilities(file: PeerModelFile, prompts: readonly number[][], threads: number, exact: boolean): Promise<Float64Array[]> {
  const model = await Engine.load(file.path, exact ? { backend: 'cpu', threads, exact: true, kvType: 'f32' } : { backend: 'cpu', threads });
  try {
    const out: Float64Array[] = [];
    for (const prompt of prompts) {
      const prefix = await model.prefill(Int32Array.from(prompt), { logits: 'last', capacity: prompt.length + 1 });
      try {
        if (!prefix.logits) throw new Error('the engine returned no logits for the last token');
        out.push(softmax64(prefix.logits));
      } finally {
        prefix.dispose();
      }
    }
    return out;
  } finally {
    model.dispose();
  }
}

async function llamaProbabilities(llama: PeerLlama, file: PeerModelFile, prompts: readonly number[][], threads: number): Promise<Map<number, number>[]> {
  const model = await llama.loadModel({ modelPath: file.path, gpuLayers: 0, useMmap: true });
  try {
    const longest = Math.max(...prompts.map((p) => p.length));
    const context = await model.createContext({ contextSize: longest + 8, threads: { ideal: threads, min: threads }, sequences: 1 });
    try {
      const sequence = context.getSequence();
      const out: Map<number, number>[] = [];
      for (const prompt of prompts) {
        await sequence.clearHistory();
        const last = prompt.length - 1;
        const input = prompt.map((token, i): number | [number, { generateNext: { probabilities: boolean } }] =>
          i === last ? [token, { generateNext: { probabilities: true } }] : token,
        );
        const results = await sequence.controlledEvaluate(input);
        const probabilities = results[last]?.next.probabilities;
        if (!probabilities || probabilities.size === 0) throw new Error('node-llama-cpp returned no probabilities for the last token');
        out.push(probabilities);
      }
      return out;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

function topTokens(probabilities: Map<number, number>, k: number): Array<[number, number]> {
  return [...probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, k);
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export async function compareLogits(
  llama: PeerLlama,
  file: PeerModelFile,
  promptCount: number,
  promptLength: number,
  threads: number,
  exact = false,
): Promise<LogitsComparison> {
  const prompts = comparisonPrompts(promptCount, promptLength);
  const theirs = await llamaProbabilities(llama, file, prompts, threads);
  const ours = await ourProbabilities(file, prompts, threads, exact);
  let maxAbsError = 0;
  let maxRelError = 0;
  let relSum = 0;
  let relCount = 0;
  let klSum = 0;
  let top1Agree = 0;
  let top1Sum = 0;
  const disagreementMargins: number[] = [];
  prompts.forEach((_, p) => {
    const top = topTokens(theirs[p], TOP_K);
    for (const [token, probability] of top) {
      const error = Math.abs(ours[p][token] - probability);
      maxAbsError = Math.max(maxAbsError, error);
      maxRelError = Math.max(maxRelError, error / probability);
      relSum += error / probability;
      relCount++;
    }
    for (const [token, probability] of theirs[p]) {
      if (probability > 0) klSum += probability * (Math.log(probability) - Math.log(Math.max(ours[p][token], 1e-300)));
    }
    top1Sum += top[0][1];
    if (argmax(ours[p]) === top[0][0]) top1Agree++;
    else disagreementMargins.push(top[0][1] - (top[1]?.[1] ?? 0));
  });
  return {
    shape: file.shape.name,
    type: file.type,
    prompts: prompts.length,
    promptLength,
    maxAbsError,
    maxRelError,
    meanRelError: relSum / relCount,
    meanKl: klSum / prompts.length,
    top1Agree,
    meanTop1Probability: top1Sum / prompts.length,
    disagreementMargins,
  };
}
