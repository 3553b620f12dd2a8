// One question against the repository's prefix cache: prefill the question,
// compress with SnapKV, stream the answer, and say what was kept. In one-shot
// mode the repository and the question run through the model together.
import { AbortError, CompactCache, ProgressListener, QueryOptions } from '../engine';
import type { AskParams, AskResult, ContextMap, StopReason } from '../protocol';
import { buildContextMap, topReferences } from './context-map';
import type { AnswerMode } from './answer-mode';
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

/** Bytes a question holds while it runs: its compact cache, and in one-shot mode the pass's working memory. */
export function questionBytesEstimate(loaded: LoadedModel, plan: QuestionPlan, mode: AnswerMode | undefined): number {
  const compact = compactBytesEstimate(loaded, plan);
  return mode?.kind === 'one-shot' ? Math.max(compact, mode.oneShotBytes) : compact;
}

export interface QuestionRun {
  params: AskParams;
  plan: QuestionPlan;
  snapshot: IndexSnapshot;
  signal: AbortSignal;
  onDelta: (text: string) => void;
  /** Called once the compact cache exists: the prefix is no longer read. */
  onCompressed: () => void;
  /** One-shot mode: how much of the prompt has passed through every layer so far. */
  onOneShotProgress?: ProgressListener;
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
  const options: QueryOptions = {
    window: plan.snapkv.window,
    budget: plan.snapkv.budget,
    kernel: plan.snapkv.kernel,
    pooling: plan.snapkv.pooling,
    reserveTokens: plan.maxTokens + 1,
    signal,
  };
  try {
    if (snapshot.prefix) {
      compact = await snapshot.prefix.query(plan.suffix, options);
    } else {
      // The same positions and selection as a query against the prefilled repository (test/one-shot.test.ts).
      const prompt = new Int32Array(snapshot.tokens.length + plan.suffix.length);
      prompt.set(snapshot.tokens, 0);
      prompt.set(plan.suffix, snapshot.tokens.length);
      compact = await loaded.model.compressOneShot(prompt, { ...options, onProgress: run.onOneShotProgress });
    }
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
