// Byte-level BPE (tokenizer.ggml.model = gpt2) over @huggingface/tokenizers: its Split
// pre-tokenizers cut a text run into words, its ByteLevel step spells each word in the
// byte alphabet, its BPE model merges. Words repeat a lot in source code, so each word's
// result (ids and where each token starts) is cached: most words then cost one lookup.
import { ByteLevelPreTokenizer, HfPreTokenizer, HfTokenizerModel, SequencePreTokenizer } from './hf-tokenizers';
import { PreTokenizerFamily } from './pre-tokenizer-families';
import { normalizeNfc } from './nfc-offsets';
import { splitPreTokenizerJson } from './tokenizer-json';
import { utf16OffsetsOfBytes } from './utf8-offsets';
import { TextRunEncoder } from './text-run-encoder';
import { WordCache, EncodedWord } from './word-cache';

export class ByteLevelBpeEncoder implements TextRunEncoder {
  private readonly words: HfPreTokenizer;
  private readonly byteLevel: HfPreTokenizer = new ByteLevelPreTokenizer({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false });
  private readonly cache = new WordCache();

  constructor(
    private readonly model: HfTokenizerModel,
    private readonly family: PreTokenizerFamily,
  ) {
    this.words = new SequencePreTokenizer({ type: 'Sequence', pretokenizers: splitPreTokenizerJson(family.splitPatterns) });
  }

  encodeRun(text: string, start: number, end: number, _spacePrefix: boolean, ids: number[], starts: number[] | undefined): void {
    const run = text.slice(start, end);
    const { text: normalized, origin } = this.family.nfc ? normalizeNfc(run) : { text: run, origin: undefined };
    let at = 0;
    for (const word of this.words.pre_tokenize_text(normalized)) {
      const encoded = this.cache.get(word) ?? this.cache.put(word, this.encodeWord(word));
      for (let k = 0; k < encoded.ids.length; k++) {
        ids.push(encoded.ids[k]);
        if (starts !== undefined) {
          const local = at + encoded.starts[k];
          starts.push(start + (origin === undefined ? local : origin[local]));
        }
      }
      at += word.length;
    }
    if (at !== normalized.length) throw new Error('internal: the pre-tokenizer lost or added text');
  }

  private encodeWord(word: string): EncodedWord {
    const [spelled] = this.byteLevel.pre_tokenize_text(word);
    const pieces = this.model._call([spelled]);
    const ids = new Array<number>(pieces.length);
    const byteStarts = new Array<number>(pieces.length);
    let bytes = 0;
    for (let k = 0; k < pieces.length; k++) {
      const id = this.model.tokens_to_ids.get(pieces[k]);
      if (id === undefined) throw new Error(`internal: BPE produced "${pieces[k]}", which is not in the vocabulary`);
      ids[k] = id;
      byteStarts[k] = bytes;
      bytes += pieces[k].length; // one byte-level character per byte
    }
    const starts: number[] = [];
    utf16OffsetsOfBytes(word, byteStarts, starts);
    return { ids, starts };
  }
}

/** Bytes of UTF-8 text that byte-level BPE must be able to spell: every byte valid UTF-8 can contain. */
export function missingUtf8Byte(hasByte: (byte: number) => boolean): number | undefined {
  for (let byte = 0; byte < 256; byte++) {
    const canOccur = byte < 0xc0 || (byte >= 0xc2 && byte <= 0xf4);
    if (canOccur && !hasByte(byte)) return byte;
  }
  return undefined;
}
