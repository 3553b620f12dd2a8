// A chat-completions request body turned into one question for the session:
// the last user message is the question, earlier user/assistant pairs are the
// chat history, and system messages become instructions before the question
// (the repository's own instructions stay first, so its cache serves everyone).
import type { ChatTurn, SnapKvSettings } from '../protocol';
import type { ChatCompletionRequest, WireMessage } from './openai-wire';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

export interface ChatQuestion {
  question: string;
  history: ChatTurn[];
  maxTokens: number | undefined;
  temperature: number | undefined;
  stream: boolean;
  includeUsage: boolean;
  snapkv: SnapKvSettings | undefined;
}

function textOf(message: WireMessage, index: number): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw new HttpError(400, `messages[${index}].content must be text or a list of text parts`);
  return content
    .map((part, p) => {
      if (part?.type !== 'text' || typeof part.text !== 'string') throw new HttpError(400, `messages[${index}].content[${p}]: only text parts are read`);
      return part.text;
    })
    .join('');
}

function optionalNumber(body: Record<string, unknown>, key: string, check: (n: number) => boolean, rule: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !check(value)) throw new HttpError(400, `${key} must be ${rule}, not ${JSON.stringify(value)}`);
  return value;
}

export function parseChatRequest(raw: unknown): ChatQuestion {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HttpError(400, 'the body must be a JSON object');
  const body = raw as Record<string, unknown> & Partial<ChatCompletionRequest>;
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new HttpError(400, 'messages must be a non-empty list');

  const instructions: string[] = [];
  const turns: { role: 'user' | 'assistant'; text: string }[] = [];
  body.messages.forEach((message, i) => {
    if (typeof message !== 'object' || message === null) throw new HttpError(400, `messages[${i}] must be an object`);
    const text = textOf(message, i);
    switch (message.role) {
      case 'system':
      case 'developer':
        if (text.trim() !== '') instructions.push(text.trim());
        break;
      case 'user':
      case 'assistant': {
        const last = turns[turns.length - 1];
        // Two messages of one side in a row read as one.
        if (last && last.role === message.role) last.text += `\n\n${text}`;
        else turns.push({ role: message.role, text });
        break;
      }
      default:
        throw new HttpError(400, `messages[${i}].role ${JSON.stringify(message.role)} is not supported (system, developer, user, assistant)`);
    }
  });
  const last = turns.pop();
  if (!last || last.role !== 'user') throw new HttpError(400, 'the last message must be the user\'s question');
  if (last.text.trim() === '') throw new HttpError(400, 'the question (the last user message) is empty');
  const history: ChatTurn[] = [];
  for (let i = 0; i < turns.length; i++) {
    const turn = turns[i];
    // An assistant message with no question before it answers nothing we can show the model.
    if (turn.role === 'user') history.push({ question: turn.text, answer: turns[i + 1]?.role === 'assistant' ? turns[++i].text : '' });
  }
  const question = instructions.length > 0 ? `${instructions.join('\n\n')}\n\n${last.text}` : last.text;

  const positive = (n: number): boolean => Number.isInteger(n) && n > 0;
  const maxTokens = optionalNumber(body, 'max_completion_tokens', positive, 'a positive whole number') ?? optionalNumber(body, 'max_tokens', positive, 'a positive whole number');
  const temperature = optionalNumber(body, 'temperature', (n) => Number.isFinite(n) && n >= 0 && n <= 2, 'a number from 0 to 2');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw new HttpError(400, 'stream must be true or false');
  const snapkv = body.snapkv;
  if (snapkv !== undefined && (typeof snapkv !== 'object' || snapkv === null || Array.isArray(snapkv))) throw new HttpError(400, 'snapkv must be an object');
  return {
    question,
    history,
    maxTokens,
    temperature,
    stream: body.stream === true,
    includeUsage: body.stream_options?.include_usage === true,
    snapkv: snapkv ?? undefined,
  };
}
