// The demonstration model's vocabulary: a byte-level BPE small enough for a model of a few
// million parameters. It is the real Qwen vocabulary cut short: the 256 byte tokens, the
// results of Qwen's first merges in priority order, and the three ChatML control tokens.
// A BPE whose merge list is a prefix of another's is still a valid BPE (it stops merging
// earlier), so the Qwen pre-tokenizer (tokenizer.ggml.pre = qwen2) applies unchanged.
//
// The committed JSON (training/tokenizer/snapkv-demo-vocab.json) is read by the data
// generator, the exporter and train.py; build-vocab.ts writes it.
import * as fs from 'fs';
import * as path from 'path';

/** llama.cpp's token types, as the GGUF converter writes them. */
export const TOKEN_TYPE_NORMAL = 1;
export const TOKEN_TYPE_CONTROL = 3;

/** The ChatML control tokens, in the order they follow the BPE tokens. */
export const CONTROL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

export interface SmallVocab {
  /** Where the tokens came from, in words. */
  readonly source: string;
  /** Merges kept from the source, in priority order ("left right", as tokenizer.ggml.merges). */
  readonly merges: readonly string[];
  /** Token text in id order: 256 byte tokens, merge results, control tokens. */
  readonly tokens: readonly string[];
  /** Token type per id (TOKEN_TYPE_NORMAL or TOKEN_TYPE_CONTROL). */
  readonly tokenTypes: readonly number[];
  /** tokenizer.ggml.pre: the word-splitting rules (Qwen2's). */
  readonly pre: 'qwen2';
  /** <|endoftext|>: BOS and padding, as in Qwen2 GGUF files (add_bos_token is false). */
  readonly bosTokenId: number;
  readonly paddingTokenId: number;
  /** <|im_end|>: the end of a turn, which ends every answer. */
  readonly eosTokenId: number;
  readonly imStartTokenId: number;
}

/** The committed vocabulary file, found from this module whether run from out/ or ts-node. */
export function defaultVocabPath(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'training', 'tokenizer', 'snapkv-demo-vocab.json');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error('training/tokenizer/snapkv-demo-vocab.json was not found above ' + __dirname + ': run build-vocab first');
}

export function readSmallVocab(file: string = defaultVocabPath()): SmallVocab {
  const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  return checkSmallVocab(parsed, file);
}

/** One line per merge and per token keeps the committed file diffable. */
export function serializeSmallVocab(vocab: SmallVocab): string {
  const lines = (items: readonly (string | number)[]): string => items.map((item) => '    ' + JSON.stringify(item)).join(',\n');
  return [
    '{',
    `  "source": ${JSON.stringify(vocab.source)},`,
    `  "pre": ${JSON.stringify(vocab.pre)},`,
    `  "bosTokenId": ${vocab.bosTokenId},`,
    `  "paddingTokenId": ${vocab.paddingTokenId},`,
    `  "eosTokenId": ${vocab.eosTokenId},`,
    `  "imStartTokenId": ${vocab.imStartTokenId},`,
    `  "tokenTypes": ${JSON.stringify(vocab.tokenTypes)},`,
    '  "tokens": [',
    lines(vocab.tokens),
    '  ],',
    '  "merges": [',
    lines(vocab.merges),
    '  ]',
    '}',
    '',
  ].join('\n');
}

function checkSmallVocab(value: unknown, file: string): SmallVocab {
  const fail = (what: string): never => {
    throw new Error(`${file} is not a small vocabulary: ${what}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not a JSON object');
  const v = value as Record<string, unknown>;
  const strings = (key: string): string[] =>
    Array.isArray(v[key]) && (v[key] as unknown[]).every((s) => typeof s === 'string') ? (v[key] as string[]) : fail(`${key} is not a string array`);
  const tokens = strings('tokens');
  const merges = strings('merges');
  const tokenTypes = Array.isArray(v.tokenTypes) && v.tokenTypes.every((t) => t === TOKEN_TYPE_NORMAL || t === TOKEN_TYPE_CONTROL)
    ? (v.tokenTypes as number[])
    : fail('tokenTypes is not an array of token types');
  if (tokenTypes.length !== tokens.length) fail(`${tokenTypes.length} token types for ${tokens.length} tokens`);
  const id = (key: string): number => {
    const n = v[key];
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < tokens.length ? n : fail(`${key} is not a token id`);
  };
  if (v.pre !== 'qwen2') fail('pre must be "qwen2"');
  return {
    source: typeof v.source === 'string' ? v.source : fail('source is missing'),
    merges,
    tokens,
    tokenTypes,
    pre: 'qwen2',
    bosTokenId: id('bosTokenId'),
    paddingTokenId: id('paddingTokenId'),
    eosTokenId: id('eosTokenId'),
    imStartTokenId: id('imStartTokenId'),
  };
}
