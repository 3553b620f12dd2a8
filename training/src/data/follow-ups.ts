// Earlier turns of the conversation: questions about other facts of the same repository with
// their answers, put before the final question as the server does for a follow-up (the
// history goes into the suffix, after the repository). In training they triple the answer
// tokens a long prompt teaches for almost no extra compute, and they teach the model the
// follow-up layout the server really sends.
import type { ChatTemplate } from '../../../server/src/text/chat-template';
import type { TextTokenizer } from '../../../server/src/text/tokenizer';
import { SYSTEM_PROMPT, questionText } from '../../../server/src/session/question-text';
import { SeededRandom } from '../../../test/fixtures/seeded-random';
import { CodeFact, conflictsWith } from './code-facts';
import { TokenSpan } from './example-record';
import { askAbout, Question } from './questions';
import { PooledFile } from './split-pool';

export interface FollowUp {
  readonly kind: CodeFact['kind'];
  readonly subject: string;
  readonly question: string;
  readonly answer: string;
}

const TRIES_PER_TURN = 20;

/** Up to `count` facts of the repository's files, each unambiguous in the repository and unlike `taken`. */
export function drawFollowUps(random: SeededRandom, repository: readonly PooledFile[], taken: CodeFact, count: number): FollowUp[] {
  const turns: FollowUp[] = [];
  const subjects = new Set([taken.name]);
  for (let turn = 0; turn < count; turn++) {
    for (let attempt = 0; attempt < TRIES_PER_TURN; attempt++) {
      const file = repository[random.integer(0, repository.length)];
      const facts = file.facts.facts;
      if (facts.length === 0) continue;
      const fact = facts[random.integer(0, facts.length)];
      if (subjects.has(fact.name)) continue;
      if (repository.some((other) => other !== file && conflictsWith(other.facts, fact))) continue;
      const asked: Question = askAbout(fact, file.file.path, random);
      subjects.add(fact.name);
      turns.push({ kind: fact.kind, subject: fact.name, question: asked.text, answer: asked.answer });
      break;
    }
  }
  return turns;
}

/** The conversation as buildSuffix receives it from the server's session. */
export function historyTurns(followUps: readonly FollowUp[]): { question: string; answer: string }[] {
  return followUps.map((f) => ({ question: f.question, answer: f.answer }));
}

/**
 * Where each earlier answer and its end-of-turn token sit in the suffix tokens (offset by
 * `suffixStart`), found through the tokenizer's character offsets and checked by decoding.
 * An answer whose tokens do not stand apart from their neighbours gets no span.
 */
export function followUpAnswerSpans(
  tokenizer: TextTokenizer,
  template: ChatTemplate,
  followUps: readonly FollowUp[],
  question: string,
  suffix: Int32Array,
  suffixStart: number,
): TokenSpan[] {
  if (followUps.length === 0) return [];
  const { tail } = template.layout({ system: SYSTEM_PROMPT, history: historyTurns(followUps), question: questionText({ question }) });
  const { ids, starts } = tokenizer.encodeWithOffsets(tail, { parseSpecial: true });
  if (ids.length !== suffix.length || ids.some((id, i) => id !== suffix[i])) throw new Error('internal: the suffix is not the layout tail');
  const spans: TokenSpan[] = [];
  let from = 0;
  for (const turn of followUps) {
    const opening = '<|im_start|>assistant\n';
    const at = tail.indexOf(`${opening}${turn.answer}<|im_end|>`, from);
    if (at < 0) continue;
    const charStart = at + opening.length;
    const charEnd = charStart + turn.answer.length + '<|im_end|>'.length;
    from = charEnd;
    const first = starts.findIndex((s) => s >= charStart);
    const end = starts.findIndex((s) => s >= charEnd);
    const last = end < 0 ? ids.length : end;
    if (first < 0 || tokenizer.decode(ids.slice(first, last)) !== `${turn.answer}<|im_end|>`) continue;
    spans.push([suffixStart + first, suffixStart + last]);
  }
  return spans;
}
