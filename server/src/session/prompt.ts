// The prompt around the packed repository: the chat template's head (system
// turn and the start of the user turn) before it, the question and the
// generation prompt after it. The head never depends on the question, so the
// repository's cache serves every question.
import type { ChatTurn } from '../protocol';
import type { ChatTemplate } from '../text/chat-template';
import type { TextTokenizer } from '../text/tokenizer';
import { SYSTEM_PROMPT } from './question-text';

/** Room kept free in the context for the question and its answer when the repository is packed. */
export const QUESTION_RESERVE_TOKENS = 1536;

export interface PrefixHead {
  text: string;
  tokens: Int32Array;
}

/** `today`: the date a template may write in its system turn (the cache's day; see template-clock.ts). */
export function buildPrefixHead(tokenizer: TextTokenizer, template: ChatTemplate, today?: Date): PrefixHead {
  const { head } = template.layout({ system: SYSTEM_PROMPT, history: [], question: '?' }, today);
  const ids = tokenizer.encode(head, { parseSpecial: true, startsPrompt: true });
  if (tokenizer.addBos && tokenizer.bosId !== undefined) ids.unshift(tokenizer.bosId);
  return { text: head, tokens: Int32Array.from(ids) };
}

/** The tokens after the repository: the rest of the first user turn, earlier turns, the question, the generation prompt. */
export function buildSuffix(tokenizer: TextTokenizer, template: ChatTemplate, history: readonly ChatTurn[], question: string): Int32Array {
  // The repository opens the first user turn; earlier turns and this question follow it.
  // Only the template's own text makes control tokens: the question (with its selection and file
  // names) and the earlier turns are the user's and the files' words, tokenized as plain text.
  const { tail, tailLiterals } = template.layout({ system: SYSTEM_PROMPT, history: [...history], question });
  return Int32Array.from(tokenizer.encode(tail, { parseSpecial: true, literalSpans: tailLiterals }));
}
