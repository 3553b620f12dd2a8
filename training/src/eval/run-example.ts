// One held-out example answered every way the table compares. The repository part of the
// prompt is prefilled once; every compressed method asks the question of that PrefixCache
// (PrefixCache.query, as the server does), and the full cache comes last: the question is
// appended to the prefix itself and answered from it.
import type { CompactCache, KvCacheHandle } from '../../../server/src/engine';
import type { ExampleRecord } from '../data/example-record';
import { EvalModel } from './demo-model';
import { controlSpans, LineKept, meanSpanKept, spanKept } from './kept-lines';
import { isExactMatch, Method, methodLabel } from './methods';

export interface SnapKvSettings {
  /** Observation window (default 32, the server's). */
  readonly window: number;
  readonly kernel: number;
  /** Generated tokens at most; answers are paths and literals, a few dozen tokens. */
  readonly maxAnswerTokens: number;
}

export const DEFAULT_SNAPKV_SETTINGS: SnapKvSettings = { window: 32, kernel: 7, maxAnswerTokens: 48 };

export interface MethodOutcome {
  readonly method: string;
  readonly generated: string;
  readonly correct: boolean;
  /**
   * SnapKV only, when the kept positions were examined: the line that holds the answer's text
   * (the file header `<file path="...">` for a path answer, the constant's line for a value).
   */
  readonly answerLine?: LineKept;
  /** The line that states the fact (the definition, the import, the constant). */
  readonly factLine?: LineKept;
  /** Spans as long as the answer's line elsewhere in the repository, for comparison. */
  readonly control?: LineKept;
}

export interface ExampleOutcome {
  readonly id: string;
  readonly kind: string;
  readonly promptLength: number;
  readonly depth: number;
  readonly outcomes: readonly MethodOutcome[];
}

export async function runExample(
  loaded: EvalModel,
  record: ExampleRecord,
  methods: readonly Method[],
  settings: SnapKvSettings,
  examineKept: boolean,
): Promise<ExampleOutcome> {
  checkTokenizerAgrees(loaded, record);
  const { model } = loaded;
  const prefixTokens = record.prompt.slice(0, record.prefixLength);
  const suffix = record.prompt.slice(record.prefixLength);
  const prefix = await model.prefill(prefixTokens, { logits: 'none', capacity: record.promptLength + settings.maxAnswerTokens + 8 });
  const byMethod = new Map<Method, MethodOutcome>();
  try {
    for (const method of methods) {
      if (method.kind === 'full') continue;
      const compact = await prefix.query(suffix, {
        budget: method.budget,
        window: method.kind === 'recent' ? method.budget : settings.window,
        kernel: settings.kernel,
        reserveTokens: settings.maxAnswerTokens + 1,
      });
      try {
        const generated = await answer(loaded, compact, settings);
        byMethod.set(method, {
          method: methodLabel(method),
          generated,
          correct: isExactMatch(generated, record.answer),
          ...(examineKept && method.kind === 'snapkv' ? keptLines(compact, record) : {}),
        });
      } finally {
        compact.dispose();
      }
    }
    const full = methods.find((m) => m.kind === 'full');
    if (full !== undefined) {
      await prefix.extend(suffix, { logits: 'last' });
      const generated = await answer(loaded, prefix, settings);
      byMethod.set(full, { method: methodLabel(full), generated, correct: isExactMatch(generated, record.answer) });
    }
  } finally {
    prefix.dispose();
  }
  return {
    id: record.id,
    kind: record.kind,
    promptLength: record.promptLength,
    depth: record.depth,
    outcomes: methods.map((m) => byMethod.get(m) as MethodOutcome),
  };
}

/** Greedy decoding until an end-of-turn token: the answer as the server would stream it. */
async function answer(loaded: EvalModel, cache: KvCacheHandle, settings: SnapKvSettings): Promise<string> {
  const ids: number[] = [];
  for await (const id of cache.generate({ maxTokens: settings.maxAnswerTokens, temperature: 0, stop: loaded.tokenizer.stopIds })) ids.push(id);
  return loaded.tokenizer.decode(ids, { skipSpecial: true });
}

function keptLines(compact: CompactCache, record: ExampleRecord): Pick<MethodOutcome, 'answerLine' | 'factLine' | 'control'> {
  const kept = compact.kept();
  const answerSpan = record.kind === 'constant-value' ? record.evidenceTokens : record.headerTokens;
  const controls = controlSpans(answerSpan, record.headLength, record.prefixLength, [record.headerTokens, record.evidenceTokens]);
  return { answerLine: spanKept(kept, answerSpan), factLine: spanKept(kept, record.evidenceTokens), control: meanSpanKept(kept, controls) };
}

/** Data made with another vocabulary than the model's would be scored as noise: refuse it. */
function checkTokenizerAgrees(loaded: EvalModel, record: ExampleRecord): void {
  const expected = [...loaded.tokenizer.encode(record.answer)];
  const target = record.target.slice(0, -1);
  if (expected.length !== target.length || expected.some((id, i) => id !== target[i])) {
    throw new Error(`${record.id}: the model's tokenizer encodes the answer differently from the data: data and model use different vocabularies`);
  }
}
