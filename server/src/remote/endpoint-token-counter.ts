// Token counts for what the remote backend sends, in the endpoint's own
// tokenizer where it offers one, else the estimate of estimated-tokens.ts.
//
// OpenAI's API has no tokenizer; the servers people run add one at their root:
//   vLLM (and snapkv-code serve): POST /tokenize {model, prompt, add_special_tokens}
//                                 -> {count, max_model_len, tokens}
//   llama.cpp's llama-server:     POST /tokenize {content, add_special} -> {tokens}
// Ollama and SGLang's OpenAI API offer neither. The endpoint is probed once,
// each shape in turn; the first that counts a known text is kept.
import { createHash } from 'crypto';
import type { TokenCounting } from '../protocol';
import { estimateTokens } from './estimated-tokens';
import type { OpenAiClient, RawAnswer } from './openai-client';
import { RemoteError } from './openai-client';

export type TokenizeShape = 'vllm' | 'llama.cpp';

const TOKENIZE_PATH = '/tokenize';
/** A text every tokenizer splits into several tokens. */
const PROBE_TEXT = 'def probe_tokenizer(count):\n    return count + 1\n';
/** Counts remembered by the text's hash: an update after an edit asks only for the changed files. */
const MAX_REMEMBERED_COUNTS = 50_000;

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function requestFor(shape: TokenizeShape, model: string, text: string): Record<string, unknown> {
  // No BOS: the counts are of pieces of one prompt, whose template adds its own.
  return shape === 'vllm' ? { model, prompt: text, add_special_tokens: false } : { content: text, add_special: false };
}

/** The count in an answer of either shape, or undefined when it holds none. */
function countIn(answer: RawAnswer): number | undefined {
  if (answer.status !== 200 || typeof answer.body !== 'object' || answer.body === null) return undefined;
  const body = answer.body as { count?: unknown; tokens?: unknown };
  if (!Array.isArray(body.tokens)) return undefined;
  if (typeof body.count === 'number' && Number.isInteger(body.count) && body.count >= 0) return body.count;
  return body.tokens.length;
}

export class EndpointTokenCounter {
  private shape: TokenizeShape | undefined;
  private found: TokenCounting | undefined;
  private probing: Promise<TokenCounting> | undefined;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly client: OpenAiClient,
    private readonly model: string,
    private readonly log: (line: string) => void,
  ) {}

  /** How tokens are counted, once the probe has run. */
  get counting(): TokenCounting | undefined {
    return this.found;
  }

  /** Finds out once whether the endpoint tokenizes, and in which shape; a cancelled probe runs again next time. */
  probe(signal?: AbortSignal): Promise<TokenCounting> {
    if (this.found) return Promise.resolve(this.found);
    this.probing ??= this.findShape(signal).then(
      (counting) => {
        this.found = counting;
        this.probing = undefined;
        this.log(`token counts for ${this.client.url}: ${counting.detail}`);
        return counting;
      },
      (error: unknown) => {
        this.probing = undefined;
        throw error;
      },
    );
    return this.probing;
  }

  private async findShape(signal: AbortSignal | undefined): Promise<TokenCounting> {
    const url = `${this.client.serverRoot}${TOKENIZE_PATH}`;
    const refusals: string[] = [];
    for (const shape of ['vllm', 'llama.cpp'] as const) {
      let answer: RawAnswer;
      try {
        answer = await this.client.postRaw(TOKENIZE_PATH, requestFor(shape, this.model, PROBE_TEXT), signal);
      } catch (error) {
        if (isAbort(error)) throw error;
        refusals.push(`${shape}: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      // llama-server answers a body without `content` with no tokens, hence "more than zero".
      const count = countIn(answer);
      if (count !== undefined && count > 0) {
        this.shape = shape;
        return { source: 'endpoint', detail: `the endpoint's tokenizer (POST ${url}, ${shape} request shape)` };
      }
      refusals.push(`${shape} shape: ${answer.status === 200 ? 'answered without tokens' : `answered ${answer.status}`}`);
    }
    return {
      source: 'estimate',
      detail: `estimated at one token per 3 characters: POST ${url} does not tokenize (${refusals.join('; ')})`,
    };
  }

  /** The tokens `text` takes: the endpoint's count after a successful probe, else the estimate. */
  async count(text: string, signal?: AbortSignal): Promise<number> {
    const counting = await this.probe(signal);
    if (counting.source === 'estimate' || !this.shape) return estimateTokens(text);
    const key = createHash('sha256').update(text).digest('base64');
    const known = this.counts.get(key);
    if (known !== undefined) return known;
    const answer = await this.client.postRaw(TOKENIZE_PATH, requestFor(this.shape, this.model, text), signal);
    const count = countIn(answer);
    if (count === undefined) {
      const body = answer.body as { error?: { message?: unknown } | string } | undefined;
      const message = typeof body?.error === 'string' ? body.error : body?.error?.message;
      throw new RemoteError(
        `${this.client.serverRoot}${TOKENIZE_PATH} answered ${answer.status} while counting ${text.length} characters` +
          `${typeof message === 'string' ? `: ${message}` : ''}; it counted a probe text before, so check the server's request limits`,
        answer.status,
      );
    }
    if (this.counts.size >= MAX_REMEMBERED_COUNTS) this.counts.clear();
    this.counts.set(key, count);
    return count;
  }
}
