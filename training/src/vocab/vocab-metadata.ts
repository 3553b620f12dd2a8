// The small vocabulary as GGUF tokenizer metadata: the entries the exporter writes into the
// model file, which the data generator also tokenizes with (in Model.metadata()'s form, by
// test/fixtures/tokenizer-metadata.ts), so it uses exactly what a loaded model will use.
import { CHATML_TEMPLATE } from '../../../server/src/text/chatml';
import { GgufValue, gguf } from '../../../test/fixtures/gguf-values';
import { SmallVocab } from './small-vocab';

export type GgufEntries = ReadonlyArray<readonly [string, GgufValue]>;

/** The demonstration model speaks plain ChatML, the format the server falls back to. */
export const DEMO_CHAT_TEMPLATE = CHATML_TEMPLATE;

/** tokenizer.* entries, in the order llama.cpp's converter writes them for Qwen2 files. */
export function vocabGgufEntries(vocab: SmallVocab): GgufEntries {
  return [
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.pre', gguf.string(vocab.pre)],
    ['tokenizer.ggml.tokens', gguf.strings(vocab.tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(vocab.tokenTypes)],
    ['tokenizer.ggml.merges', gguf.strings(vocab.merges)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(vocab.eosTokenId)],
    ['tokenizer.ggml.padding_token_id', gguf.u32(vocab.paddingTokenId)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(vocab.bosTokenId)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(false)],
    ['tokenizer.chat_template', gguf.string(DEMO_CHAT_TEMPLATE)],
  ];
}
