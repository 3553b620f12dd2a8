// One question against the repository's prefix cache: prefill the question,
// compress with SnapKV, stream the answer, and say what was kept.
import { AbortError, CompactCache } from '../engine';
import type { AskParams, AskResult, ContextMap, StopReason } from '../protocol';
import { buildContextMap, topReferences } from './context-map';
import type { LoadedModel } from './loaded-model';
import type { ResolvedSnapKv } from './settings';
import type { IndexSnapshot } from './workspace-index';

export interface QuestionPlan {
  suffix: Int32Array;
  snapkv: ResolvedSnapKv;
  maxTokens: number;
  temperature: number;
}

/** Bytes the question's compact cache takes at most: kept entries, the question, and the answer's room. */
export function compactBytesEstimate(loaded: LoadedModel, plan: QuestionPlan): number {
  const entries = plan.snapkv.budget + plan.suffix.length + plan.maxTokens;
  return loaded.model.info.kvBytesPerToken * entries;
}

export interface QuestionRun {
  params: AskParams;
  plan: QuestionPlan;
  snapshot: IndexSnapshot;
  signal: AbortSignal;
  onDelta: (text: string) => void;
  /** Called once the compact cache exists: the prefix is no longer read. */
  onCompressed: () => void;
  queuedMs: number;
}

export interface QuestionOutcome {
  result: AskResult;
  map: ContextMap;
}

export async function runQuestion(loaded: LoadedModel, run: QuestionRun): Promise<QuestionOutcome> {
  const { plan, snapshot, signal, params } = run;
  const started = performance.now();
  let compact: CompactCache | undefined;
  try {
    compact = await snapshot.prefix.query(plan.suffix, {
      window: plan.snapkv.window,
      budget: plan.snapkv.budget,
      kernel: plan.snapkv.kernel,
      pooling: plan.snapkv.pooling,
      reserveTokens: plan.maxTokens + 1,
      signal,
    });
  } finally {
    run.onCompressed();
  }
  try {
    const compressed = performance.now();
    const map = buildContextMap(params.requestId, params.question, compact.kept(), snapshot.lineMap);
    const compactBytes = compact.stats().usedBytes;
    const decoder = loaded.tokenizer.createStreamDecoder({ skipSpecial: true });
    const stop = loaded.tokenizer.stopIds;
    let text = '';
    let tokens = 0;
    let firstTokenAt: number | undefined;
    let stopReason: StopReason = 'max-tokens';
    const emit = (piece: string): void => {
      if (piece === '') return;
      text += piece;
      run.onDelta(piece);
    };
    try {
      // maxTokens 0 asks only for what SnapKV keeps (repository context for an agent): nothing is generated.
      if (plan.maxTokens > 0) {
        for await (const token of compact.generate({ maxTokens: plan.maxTokens, temperature: plan.temperature, stop, signal })) {
          firstTokenAt ??= performance.now();
          tokens++;
          emit(decoder.push(token));
        }
        // The generator ends early only at a stop token.
        if (tokens < plan.maxTokens) stopReason = 'eos';
      }
    } catch (error) {
      if (!(error instanceof AbortError)) throw error;
      stopReason = 'cancelled';
    }
    emit(decoder.end());
    const finished = performance.now();
    const firstTokenMs = firstTokenAt === undefined ? finished - started : firstTokenAt - started;
    const result: AskResult = {
      requestId: params.requestId,
      text,
      tokens,
      stopReason,
      references: topReferences(map),
      timings: {
        queuedMs: run.queuedMs,
        compressMs: compressed - started,
        firstTokenMs,
        decodeMsPerToken: tokens > 1 && firstTokenAt !== undefined ? (finished - firstTokenAt) / (tokens - 1) : 0,
      },
      compactBytes,
    };
    return { result, map };
  } finally {
    compact.dispose();
  }
}
