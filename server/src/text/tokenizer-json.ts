// The tokenizer.json (Hugging Face format) equivalent to a GGUF vocabulary, assembled so that
// @huggingface/tokenizers does the actual BPE. Only the parts this project emits are typed.
import { GgufVocabulary } from './gguf-vocabulary';
import { sentencePieceMerges } from './sentencepiece-merges';
import { TokenType, isAddedTokenType } from './token-types';

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export type PatternJson = { Regex: string } | { String: string };

export type NormalizerJson =
  | { type: 'NFC' }
  | { type: 'Prepend'; prepend: string }
  | { type: 'Replace'; pattern: PatternJson; content: string }
  | { type: 'Sequence'; normalizers: NormalizerJson[] };

export type PreTokenizerJson =
  | { type: 'Split'; pattern: PatternJson; behavior: 'Isolated'; invert: false }
  | { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }
  | { type: 'Sequence'; pretokenizers: PreTokenizerJson[] };

export type DecoderJson =
  | { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }
  | { type: 'Replace'; pattern: PatternJson; content: string }
  | { type: 'ByteFallback' }
  | { type: 'Fuse' }
  | { type: 'Strip'; content: string; start: number; stop: number }
  | { type: 'Sequence'; decoders: DecoderJson[] };

export interface BpeModelJson {
  type: 'BPE';
  vocab: Record<string, number>;
  merges: [string, string][];
  unk_token: string | null;
  byte_fallback: boolean;
  fuse_unk: boolean;
  ignore_merges: boolean;
  dropout: null;
  continuing_subword_prefix: null;
  end_of_word_suffix: null;
}

export interface TokenizerJson {
  version: '1.0';
  added_tokens: AddedTokenJson[];
  normalizer: NormalizerJson | null;
  pre_tokenizer: PreTokenizerJson | null;
  post_processor: null;
  decoder: DecoderJson | null;
  model: BpeModelJson;
}

export const SPACE_MARK = '\u2581'; // "▁": SentencePiece's visible space

export function splitPreTokenizerJson(patterns: readonly string[]): PreTokenizerJson[] {
  return patterns.map((pattern) => ({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }));
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false } as const;

export function tokenizerJsonFromVocabulary(vocabulary: GgufVocabulary): TokenizerJson {
  const { tokens, tokenTypes } = vocabulary;
  // Added tokens are matched before BPE and live outside the BPE vocabulary, as in Hugging Face files.
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  const addedTokens: AddedTokenJson[] = [];
  for (let id = 0; id < tokens.length; id++) {
    const type = tokenTypes[id];
    if (isAddedTokenType(type)) {
      addedTokens.push({
        id,
        content: tokens[id],
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: type !== TokenType.USER_DEFINED,
      });
    }
    // <unk> stays in the BPE vocabulary too: the model emits it for text it cannot spell.
    // A repeated text maps to its last id, as a JSON object with repeated keys and llama.cpp both do.
    if (!isAddedTokenType(type) || type === TokenType.UNKNOWN) vocab[tokens[id]] = id;
  }

  if (vocabulary.model === 'gpt2') {
    const family = vocabulary.preTokenizer;
    if (family === undefined) throw new Error('internal: a gpt2 vocabulary without a pre-tokenizer');
    return {
      version: '1.0',
      added_tokens: addedTokens,
      normalizer: family.nfc ? { type: 'NFC' } : null,
      pre_tokenizer: { type: 'Sequence', pretokenizers: [...splitPreTokenizerJson(family.splitPatterns), BYTE_LEVEL] },
      post_processor: null,
      decoder: BYTE_LEVEL,
      model: bpeModel(vocab, (vocabulary.merges ?? []).map(splitMerge), null, { byteFallback: false, ignoreMerges: family.ignoreMerges }),
    };
  }

  if (vocabulary.scores === undefined) throw new Error('internal: a llama vocabulary without scores');
  const replaceSpaces: NormalizerJson = { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARK };
  const unknown = vocabulary.unknownId === undefined ? null : tokens[vocabulary.unknownId];
  return {
    version: '1.0',
    added_tokens: addedTokens,
    // The space prefix goes before every run of text, also after a special token, as llama.cpp
    // and the original Llama tokenizer.json ("legacy" SentencePiece behaviour) do.
    normalizer: vocabulary.addSpacePrefix
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE_MARK }, replaceSpaces] }
      : replaceSpaces,
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE_MARK }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(vocabulary.addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 } as const] : []),
      ],
    },
    model: bpeModel(vocab, sentencePieceMerges(tokens, tokenTypes, vocabulary.scores), unknown, { byteFallback: true, ignoreMerges: false }),
  };
}

function bpeModel(
  vocab: Record<string, number>,
  merges: [string, string][],
  unknown: string | null,
  options: { byteFallback: boolean; ignoreMerges: boolean },
): BpeModelJson {
  return {
    type: 'BPE',
    vocab,
    merges,
    unk_token: unknown,
    byte_fallback: options.byteFallback,
    fuse_unk: options.byteFallback,
    ignore_merges: options.ignoreMerges,
    dropout: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
  };
}

/** "left right": the first space after the first character separates the parts (the left part may itself be a space). */
function splitMerge(merge: string): [string, string] {
  const at = merge.indexOf(' ', 1);
  if (at < 0) throw new Error(`GGUF metadata tokenizer.ggml.merges has an entry without a space: "${merge}"`);
  return [merge.slice(0, at), merge.slice(at + 1)];
}
