// Measurements through the real addon path: Engine.load, prefill, generate.
import { promptTokens } from '../test/fixtures/tiny-models';
import { Engine, Model, ModelInfo, PrefixCache } from '../server/src/engine';
import { BenchModelShape, WeightType, shapeOf } from './bench-model';
import { decodeBytesPerToken, prefillFlops } from './flops';
import { median, mean, nowMs, percentile, repeatTimed, streamTimings, timeMs } from './measure';

export interface LoadResult {
  /** Every load, in order; the first may read the file from disk, the others from the page cache. */
  runsMs: number[];
  medianMs: number;
}

export interface PrefillResult {
  tokens: number;
  runsMs: number[];
  medianMs: number;
  tokensPerSecond: number;
  /** Counted FLOPs of the prefill (bench/flops.ts). */
  gflop: number;
  gflops: number;
}

export interface DecodeResult extends DecodeTiming {
  promptTokens: number;
  /** Prefill of the prompt plus the first token. */
  timeToFirstTokenMs: number;
  /** Weights plus KV cache (in the model's KV type) one step reads, at the mean context of the run. */
  bytesPerToken: number;
  /** bytesPerToken / median time per token. */
  gbps: number;
}

export interface ModelBench {
  info: ModelInfo;
  load: LoadResult;
  prefill: PrefillResult[];
  decode: DecodeResult;
}

export interface ModelBenchOptions {
  threads: number;
  prefillLengths: readonly number[];
  /** Measured prefills per length, after one warm-up each. */
  repeats: number;
  decodePrompt: number;
  decodeTokens: number;
  loads: number;
  log?: (line: string) => void;
}

async function measureLoad(path: string, threads: number, loads: number): Promise<{ model: Model; load: LoadResult }> {
  const runsMs: number[] = [];
  for (let i = 0; ; i++) {
    const start = nowMs();
    const model = await Engine.load(path, { backend: 'cpu', threads });
    runsMs.push(nowMs() - start);
    if (i + 1 >= loads) return { model, load: { runsMs, medianMs: median(runsMs) } };
    model.dispose();
  }
}

async function measurePrefill(model: Model, shape: BenchModelShape, tokens: number, repeats: number): Promise<PrefillResult> {
  const prompt = Int32Array.from(promptTokens(tokens, tokens));
  const timing = await repeatTimed(async () => {
    const prefix = await model.prefill(prompt, { logits: 'last', capacity: tokens + 1 });
    prefix.dispose();
  }, repeats);
  const flops = prefillFlops(shape, tokens);
  return {
    tokens,
    runsMs: [...timing.runsMs],
    medianMs: timing.medianMs,
    tokensPerSecond: tokens / (timing.medianMs / 1000),
    gflop: flops / 1e9,
    gflops: flops / 1e9 / (timing.medianMs / 1000),
  };
}

export interface DecodeTiming {
  generated: number;
  /** Time from asking for the first token to having it. */
  firstTokenMs: number;
  /** Per-token times, between consecutive yielded tokens, the first token excluded. */
  medianMsPerToken: number;
  meanMsPerToken: number;
  p90MsPerToken: number;
  tokensPerSecond: number;
}

/**
 * Times a token stream: any cache's generate() (a full PrefixCache here, a
 * compressed cache in a later section).
 */
export async function timeDecode(tokens: AsyncIterable<number>): Promise<DecodeTiming> {
  const run = await streamTimings(tokens);
  if (run.gapsMs.length === 0) throw new Error(`decode produced ${run.items.length} tokens; need at least 2`);
  const medianMs = median(run.gapsMs);
  return {
    generated: run.items.length,
    firstTokenMs: run.firstMs,
    medianMsPerToken: medianMs,
    meanMsPerToken: mean(run.gapsMs),
    p90MsPerToken: percentile(run.gapsMs, 0.9),
    tokensPerSecond: 1000 / medianMs,
  };
}

async function measureDecode(
  model: Model,
  shape: BenchModelShape,
  type: WeightType,
  promptLength: number,
  maxTokens: number,
): Promise<DecodeResult> {
  const prompt = Int32Array.from(promptTokens(promptLength, 11));
  let prefix: PrefixCache | undefined;
  const prefillMs = await timeMs(async () => {
    prefix = await model.prefill(prompt, { logits: 'last', capacity: promptLength + maxTokens + 1 });
  });
  try {
    const timing = await timeDecode(prefix!.generate({ maxTokens, temperature: 0 }));
    const bytesPerToken = decodeBytesPerToken(shape, type, promptLength + maxTokens / 2, model.info.kvBytesPerToken);
    return {
      promptTokens: promptLength,
      ...timing,
      timeToFirstTokenMs: prefillMs + timing.firstTokenMs,
      bytesPerToken,
      gbps: bytesPerToken / 1e9 / (timing.medianMsPerToken / 1000),
    };
  } finally {
    prefix!.dispose();
  }
}

export async function benchModel(path: string, type: WeightType, options: ModelBenchOptions): Promise<ModelBench> {
  const log = options.log ?? (() => undefined);
  const { model, load } = await measureLoad(path, options.threads, options.loads);
  try {
    const shape = shapeOf({ ...model.info, tied: model.info.tiedEmbeddings });
    log(`  ${type}: loaded in ${load.medianMs.toFixed(0)} ms`);
    const prefill: PrefillResult[] = [];
    for (const tokens of options.prefillLengths) {
      const result = await measurePrefill(model, shape, tokens, options.repeats);
      log(`  ${type}: prefill ${tokens} tokens: ${result.tokensPerSecond.toFixed(0)} tokens/s`);
      prefill.push(result);
    }
    const decode = await measureDecode(model, shape, type, options.decodePrompt, options.decodeTokens);
    log(`  ${type}: decode ${decode.medianMsPerToken.toFixed(2)} ms/token`);
    return { info: model.info, load, prefill, decode };
  } finally {
    model.dispose();
  }
}
