// A POST /tokenize body in vLLM's completion shape, checked field by field.
import { HttpError } from './chat-request';
import type { TokenizeRequest } from './openai-wire';

export function parseTokenizeRequest(raw: unknown): TokenizeRequest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new HttpError(400, 'the body must be a JSON object');
  const body = raw as Record<string, unknown>;
  if (typeof body.prompt !== 'string') {
    throw new HttpError(400, 'prompt must be the text to tokenize (this server takes vLLM\'s shape: {"model", "prompt", "add_special_tokens"})');
  }
  if (body.model !== undefined && body.model !== null && typeof body.model !== 'string') throw new HttpError(400, 'model must be text');
  if (body.add_special_tokens !== undefined && body.add_special_tokens !== null && typeof body.add_special_tokens !== 'boolean') {
    throw new HttpError(400, 'add_special_tokens must be true or false');
  }
  return {
    prompt: body.prompt,
    ...(typeof body.model === 'string' ? { model: body.model } : {}),
    ...(typeof body.add_special_tokens === 'boolean' ? { add_special_tokens: body.add_special_tokens } : {}),
  };
}
