// Where the repository goes in a chat prompt. The repository is prefilled once and reused for
// every question, so everything before it (the head) must not change with the question or the
// conversation: the conversation is rendered with a placeholder for the repository, cut at the
// placeholder, and the cut is checked against renderings with other questions and histories.
import { randomUUID } from 'crypto';
import type { ChatMessage } from './chat-template';

export interface RepositoryPromptRequest {
  system: string;
  /** Earlier questions and their answers, oldest first. */
  history: { question: string; answer: string }[];
  question: string;
}

export interface TextSpan {
  start: number;
  end: number;
}

export interface RepositoryPromptLayout {
  /** Prompt text before the repository text: system prompt and the opening of the first user message. */
  head: string;
  /** Prompt text after the repository text: the question(s), earlier answers, the generation prompt. */
  tail: string;
  /**
   * Where in `tail` the conversation's own text (questions, answers) lies: only the rest, which the
   * template wrote, may be read for control tokens (TextTokenizer's literalSpans).
   */
  tailLiterals: TextSpan[];
}

type Render = (messages: ChatMessage[]) => string;

/** Between the repository text and the first question inside the first user message. */
export const REPOSITORY_QUESTION_SEPARATOR = '\n\n';

export function layoutRepositoryPrompt(request: RepositoryPromptRequest, render: Render): RepositoryPromptLayout {
  const placeholder = `[[repository ${randomUUID()}]]`;
  // The conversation's texts are rendered as markers and put in afterwards, so the template's own
  // text and theirs are told apart exactly, whatever the texts hold (even the template's tokens).
  const texts = new Map<string, string>();
  const marked = (value: string): string => {
    const marker = `[[text ${randomUUID()}]]`;
    texts.set(marker, value);
    return marker;
  };
  const markedRequest: RepositoryPromptRequest = {
    system: request.system,
    history: request.history.map((turn) => ({ question: marked(turn.question), answer: marked(turn.answer) })),
    question: marked(request.question),
  };
  const actual = splitAt(placeholder, renderConversation(markedRequest, placeholder, render));

  // Other questions and histories must give the same head.
  const probes: RepositoryPromptRequest[] = [
    { system: request.system, history: [], question: `probe question ${randomUUID()}` },
    {
      system: request.system,
      history: [{ question: `probe question ${randomUUID()}`, answer: `probe answer ${randomUUID()}` }],
      question: `probe question ${randomUUID()}`,
    },
  ];
  for (const probe of probes) {
    let other: { head: string; tail: string } | undefined;
    try {
      other = splitAt(placeholder, renderConversation(probe, placeholder, render));
    } catch {
      // The template cannot lay out another conversation the same way: the head is not fixed either.
    }
    if (other === undefined || other.head !== actual.head) {
      const where = other === undefined ? 'another question cannot be laid out the same way' : `the prompt head changes with the question: ${JSON.stringify(firstDifference(actual.head, other.head))}`;
      throw new Error(
        `the chat template puts text that depends on the question or the conversation before the repository text (${where}), ` +
          'so one prefilled repository cannot serve every question; use a model whose template renders messages in order',
      );
    }
  }
  return { head: actual.head, ...fillMarkers(actual.tail, texts) };
}

/** Puts each text where its marker is (a template may drop a text, or write it twice), noting where it lies. */
function fillMarkers(marked: string, texts: ReadonlyMap<string, string>): { tail: string; tailLiterals: TextSpan[] } {
  const pattern = /\[\[text [0-9a-f-]{36}\]\]/g;
  let tail = '';
  const tailLiterals: TextSpan[] = [];
  let done = 0;
  for (let match = pattern.exec(marked); match !== null; match = pattern.exec(marked)) {
    const value = texts.get(match[0]);
    if (value === undefined) continue;
    tail += marked.slice(done, match.index);
    tailLiterals.push({ start: tail.length, end: tail.length + value.length });
    tail += value;
    done = match.index + match[0].length;
  }
  return { tail: tail + marked.slice(done), tailLiterals };
}

/**
 * Renders the conversation. Some templates refuse a system message (they raise an exception);
 * then the system prompt goes at the start of the first user message instead.
 */
function renderConversation(request: RepositoryPromptRequest, placeholder: string, render: Render): string {
  const withSystem = conversation(request, placeholder, true);
  try {
    return render(withSystem);
  } catch (error) {
    if (request.system.length === 0) throw error;
    try {
      return render(conversation(request, placeholder, false));
    } catch {
      throw error;
    }
  }
}

function conversation(request: RepositoryPromptRequest, placeholder: string, systemMessage: boolean): ChatMessage[] {
  const questions = [...request.history.map((turn) => turn.question), request.question];
  const messages: ChatMessage[] = [];
  let opening = placeholder + REPOSITORY_QUESTION_SEPARATOR;
  if (request.system.length > 0) {
    if (systemMessage) messages.push({ role: 'system', content: request.system });
    else opening = request.system + REPOSITORY_QUESTION_SEPARATOR + opening;
  }
  questions.forEach((question, i) => {
    messages.push({ role: 'user', content: i === 0 ? opening + question : question });
    if (i < request.history.length) messages.push({ role: 'assistant', content: request.history[i].answer });
  });
  return messages;
}

function splitAt(placeholder: string, rendered: string): { head: string; tail: string } {
  const at = rendered.indexOf(placeholder);
  if (at < 0) {
    throw new Error(
      'the chat template does not write the first user message unchanged (it transforms or drops message text), ' +
        'so the repository text cannot be placed in the prompt',
    );
  }
  if (rendered.indexOf(placeholder, at + 1) >= 0) {
    throw new Error(
      'the chat template writes the first user message more than once (for example it repeats the latest question ' +
        'before the conversation), so the repository text would be in the prompt twice and one prefilled repository cannot serve every question',
    );
  }
  return { head: rendered.slice(0, at), tail: rendered.slice(at + placeholder.length) };
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(Math.max(0, i - 20), i + 40);
}
