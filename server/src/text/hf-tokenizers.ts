// The part of @huggingface/tokenizers this project uses, typed here. The package ships
// ECMAScript-module typings that a CommonJS project cannot import under node16 resolution;
// its CommonJS build is what runs, loaded with require.
import { PreTokenizerJson, TokenizerJson } from './tokenizer-json';

/** The BPE model inside a Tokenizer. */
export interface HfTokenizerModel {
  /** Word (already in the model's alphabet) -> token strings; applies fuse_unk. */
  _call(words: string[]): string[];
  /** Token string -> id, added tokens included. */
  readonly tokens_to_ids: Map<string, number>;
}

export interface HfTokenizer {
  readonly model: HfTokenizerModel | null;
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
}

export interface HfPreTokenizer {
  pre_tokenize_text(text: string): string[];
}

interface HfTokenizersModule {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;
  SequencePreTokenizer: new (config: { type: 'Sequence'; pretokenizers: PreTokenizerJson[] }) => HfPreTokenizer;
  ByteLevelPreTokenizer: new (config: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean }) => HfPreTokenizer;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const hf = require('@huggingface/tokenizers') as HfTokenizersModule;

export const { SequencePreTokenizer, ByteLevelPreTokenizer } = hf;

/** A tokenizer from a tokenizer.json object, as found in a Hugging Face model folder (or assembled). */
export function loadHfTokenizer(tokenizerJson: object, tokenizerConfig: object = {}): HfTokenizer {
  return new hf.Tokenizer(tokenizerJson, tokenizerConfig);
}

export function createHfTokenizer(json: TokenizerJson): { tokenizer: HfTokenizer; model: HfTokenizerModel } {
  // Decoding never cleans up spaces: the text must come back as it was.
  const tokenizer = loadHfTokenizer(json, { clean_up_tokenization_spaces: false });
  const model = tokenizer.model;
  if (model === null) throw new Error('internal: @huggingface/tokenizers built no model');
  return { tokenizer, model };
}
