// The small vocabulary as GGUF tokenizer metadata: the entries the exporter writes into the
// model file, and the same entries in the form the engine hands them back (Model.metadata()),
// so the data generator tokenizes with exactly what a loaded model will use.
import type { MetadataValue } from '../../../server/src/engine';
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

/** The entries as Model.metadata() returns them (u64/i64 as bigint, arrays as plain arrays). */
export function metadataRecord(entries: GgufEntries): Record<string, MetadataValue> {
  const record: Record<string, MetadataValue> = {};
  for (const [key, value] of entries) record[key] = metadataValue(value);
  return record;
}

function metadataValue(value: GgufValue): MetadataValue {
  switch (value.type) {
    case 'raw':
      throw new Error('raw GGUF values have no metadata form');
    case 'array':
      return Array.from(value.value as ArrayLike<number | bigint | boolean | string | GgufValue>, (item) =>
        typeof item === 'object' ? metadataValue(item) : item,
      );
    case 'u64':
    case 'i64':
      return BigInt(value.value);
    default:
      return value.value;
  }
}
