// Runs the float64 reference forward over a prompt and the float64 SnapKV
// reference over its queries and keys: the expected kept positions of every
// layer, computed with no engine code.
import { TinyModelConfig, TinyWeights } from '../fixtures/tiny-models';
import { ReferenceForward } from '../reference/forward64';
import { cacheHeadScores, KeptHead, poolScores, SnapKvInput, SnapKvParams, snapkvSelect } from '../reference/snapkv64';

export interface ReferencePrompt {
  /** Per layer: the inputs snapkvSelect takes, for any window up to `maxWindow`. */
  select(params: SnapKvParams): KeptHead[][];
  /** Per layer and cache head: the pooled score of every scored position (prompts longer than the budget). */
  pooled(params: SnapKvParams): Float64Array[][];
}

export function referencePrompt(
  config: TinyModelConfig,
  weights: TinyWeights,
  prompt: readonly number[],
  maxWindow: number,
): ReferencePrompt {
  const length = prompt.length;
  const { layers, heads, kvHeads, headDim } = config;
  // queries[layer][position - (length - maxWindow)] = heads x headDim
  const queries: Float64Array[][] = Array.from({ length: layers }, () => []);
  const firstKept = Math.max(0, length - maxWindow);
  const reference = new ReferenceForward(config, weights, {
    onQueries: (layer, position, q) => {
      if (position >= firstKept) queries[layer][position - firstKept] = q;
    },
  });
  reference.forward(prompt);
  const keys = Array.from({ length: layers }, (_, l) =>
    Array.from({ length: kvHeads }, (_, g) => reference.cacheHead(l, g).keys),
  );
  const inputs = (params: SnapKvParams): SnapKvInput[] => {
    const window = Math.min(params.window, length);
    if (params.window > maxWindow && params.window <= length) throw new Error('window above maxWindow');
    return keys.map((layerKeys, l) => {
      const rows = queries[l].slice(queries[l].length - window);
      const perHead = Array.from({ length: heads }, (_, h) => {
        const out = new Float64Array(window * headDim);
        rows.forEach((row, t) => out.set(row.subarray(h * headDim, (h + 1) * headDim), t * headDim));
        return out;
      });
      return { queries: perHead, keys: layerKeys, promptLength: length, headDim };
    });
  };
  return {
    select: (params) => inputs(params).map((input) => snapkvSelect(input, params)),
    pooled: (params) =>
      inputs(params).map((input) => cacheHeadScores(input, params).map((row) => poolScores(row, params.kernel, params.pooling))),
  };
}
