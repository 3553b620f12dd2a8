// The tokenizer.ggml.* metadata of a GGUF file, read and checked once.
import { Metadata, readBoolean, readNumberArray, readString, readStringArray, readTokenId } from './metadata-values';
import { PreTokenizerFamily, preTokenizerFamily } from './pre-tokenizer-families';
import { TokenType } from './token-types';

/** `gpt2`: byte-level BPE with merges. `llama`: SentencePiece BPE with scores and byte fallback. */
export type VocabularyModel = 'gpt2' | 'llama';

export const SUPPORTED_MODELS: readonly VocabularyModel[] = ['gpt2', 'llama'];

export interface GgufVocabulary {
  readonly model: VocabularyModel;
  /** Only for gpt2: how text is cut into words before BPE. */
  readonly preTokenizer: PreTokenizerFamily | undefined;
  /** Token text in id order, as stored (byte-level text such as "Ġthe" for gpt2, "▁the" for llama). */
  readonly tokens: readonly string[];
  readonly tokenTypes: Int32Array;
  /** SentencePiece scores (llama only). */
  readonly scores: Float32Array | undefined;
  /** "left right" merges in priority order (gpt2 only). */
  readonly merges: readonly string[] | undefined;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly eotId: number | undefined;
  readonly eomId: number | undefined;
  readonly unknownId: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** SentencePiece only: a "▁" goes before the first word of a text (tokenizer.ggml.add_space_prefix). */
  readonly addSpacePrefix: boolean;
}

export function readGgufVocabulary(metadata: Metadata): GgufVocabulary {
  const modelName = readString(metadata, 'tokenizer.ggml.model');
  if (modelName === undefined) {
    throw new Error('GGUF metadata has no tokenizer.ggml.model: the file carries no tokenizer, so text cannot be turned into tokens');
  }
  if (!isSupportedModel(modelName)) {
    throw new Error(
      `unsupported tokenizer.ggml.model "${modelName}": supported are "gpt2" (byte-level BPE: Qwen2, Llama 3, DeepSeek Coder) ` +
        'and "llama" (SentencePiece BPE: Llama 2, Mistral, CodeLlama)',
    );
  }
  const model = modelName;

  const tokens = readStringArray(metadata, 'tokenizer.ggml.tokens');
  if (tokens === undefined || tokens.length === 0) {
    throw new Error('GGUF metadata has no tokenizer.ggml.tokens array: the vocabulary is missing, so text cannot be tokenized');
  }
  const size = tokens.length;
  const tokenTypes =
    readNumberArray(metadata, 'tokenizer.ggml.token_type', size, (n) => new Int32Array(n)) ?? new Int32Array(size).fill(TokenType.NORMAL);
  const scores = readNumberArray(metadata, 'tokenizer.ggml.scores', size, (n) => new Float32Array(n));
  const merges = readStringArray(metadata, 'tokenizer.ggml.merges');

  let preTokenizer: PreTokenizerFamily | undefined;
  if (model === 'gpt2') {
    preTokenizer = preTokenizerFamily(readString(metadata, 'tokenizer.ggml.pre'));
    if (merges === undefined) {
      throw new Error('GGUF metadata has no tokenizer.ggml.merges: a gpt2 (byte-level BPE) vocabulary cannot encode without its merges');
    }
  } else if (scores === undefined) {
    throw new Error('GGUF metadata has no tokenizer.ggml.scores: a llama (SentencePiece) vocabulary cannot encode without its piece scores');
  }

  const id = (key: string): number | undefined => readTokenId(metadata, key, size);
  // llama.cpp's defaults for SentencePiece files that omit the ids: <unk> 0, <s> 1, </s> 2.
  const spmDefault = (fallback: number): number | undefined => (model === 'llama' && fallback < size ? fallback : undefined);
  const bosId = id('tokenizer.ggml.bos_token_id') ?? spmDefault(1);
  const eosId = id('tokenizer.ggml.eos_token_id') ?? spmDefault(2);
  const unknownId = id('tokenizer.ggml.unknown_token_id') ?? spmDefault(0);
  const addBos = readBoolean(metadata, 'tokenizer.ggml.add_bos_token') ?? model === 'llama';
  const addEos = readBoolean(metadata, 'tokenizer.ggml.add_eos_token') ?? false;
  if (addBos && bosId === undefined) {
    throw new Error('GGUF metadata asks for a BOS token (tokenizer.ggml.add_bos_token) but has no tokenizer.ggml.bos_token_id');
  }
  if (addEos && eosId === undefined) {
    throw new Error('GGUF metadata asks for an EOS token (tokenizer.ggml.add_eos_token) but has no tokenizer.ggml.eos_token_id');
  }

  return {
    model,
    preTokenizer,
    tokens,
    tokenTypes,
    scores,
    merges,
    bosId,
    eosId,
    eotId: id('tokenizer.ggml.eot_token_id'),
    eomId: id('tokenizer.ggml.eom_token_id'),
    unknownId,
    addBos,
    addEos,
    addSpacePrefix: model === 'llama' && (readBoolean(metadata, 'tokenizer.ggml.add_space_prefix') ?? true),
  };
}

function isSupportedModel(name: string): name is VocabularyModel {
  return (SUPPORTED_MODELS as readonly string[]).includes(name);
}
