// SentencePiece BPE (tokenizer.ggml.model = llama) over @huggingface/tokenizers: spaces become
// "▁", the whole run is one BPE word (SentencePiece does not pre-split), and characters
// missing from the vocabulary fall back to byte tokens <0x00>..<0xFF>.
import type { HfTokenizerModel } from './hf-tokenizers';
import { TextRunEncoder } from './text-run-encoder';
import { SPACE_MARK } from './tokenizer-json';
import { utf16OffsetsOfBytes, utf8LengthAt } from './utf8-offsets';

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

export class SentencePieceBpeEncoder implements TextRunEncoder {
  constructor(
    private readonly model: HfTokenizerModel,
    private readonly unknownId: number | undefined,
  ) {}

  encodeRun(text: string, start: number, end: number, spacePrefix: boolean, ids: number[], starts: number[] | undefined): void {
    const prefix = spacePrefix ? SPACE_MARK : '';
    // "▁" and " " are both one UTF-16 unit, so offsets in `spelled` are offsets in the run plus the prefix.
    const spelled = prefix + text.slice(start, end).replaceAll(' ', SPACE_MARK);
    const pieces = this.model._call([spelled]);
    const firstId = ids.length;
    for (const piece of pieces) {
      const id = this.model.tokens_to_ids.get(piece) ?? this.unknownId;
      if (id === undefined) throw new Error(`internal: BPE produced "${piece}", which is not in the vocabulary`);
      ids.push(id);
    }
    if (starts === undefined) return;
    const local: number[] = [];
    utf16OffsetsOfBytes(spelled, pieceByteStarts(pieces, ids, firstId, this.unknownId, spelled), local);
    for (const offset of local) starts.push(start + Math.max(0, offset - prefix.length));
  }
}

/**
 * Byte offset in `spelled` where each piece starts. A byte token is one byte, a vocabulary
 * piece its own UTF-8 length. <unk> stands for text of unknown length: pieces before the first
 * one are placed from the front, pieces after the last one from the back, the rest at the
 * first <unk>.
 */
function pieceByteStarts(pieces: readonly string[], ids: readonly number[], firstId: number, unknownId: number | undefined, spelled: string): number[] {
  const lengths = pieces.map((piece, k) => {
    if (ids[firstId + k] === unknownId) return -1;
    if (BYTE_TOKEN.test(piece)) return 1;
    let bytes = 0;
    for (let i = 0; i < piece.length; i += piece.codePointAt(i)! > 0xffff ? 2 : 1) bytes += utf8LengthAt(piece, i);
    return bytes;
  });
  const starts = new Array<number>(pieces.length);
  let front = 0;
  let k = 0;
  for (; k < pieces.length && lengths[k] >= 0; k++) {
    starts[k] = front;
    front += lengths[k];
  }
  if (k === pieces.length) return starts;
  let back = 0;
  for (let i = 0; i < spelled.length; i += spelled.codePointAt(i)! > 0xffff ? 2 : 1) back += utf8LengthAt(spelled, i);
  let j = pieces.length - 1;
  for (; j > k && lengths[j] >= 0; j--) {
    back -= lengths[j];
    starts[j] = back;
  }
  for (let m = k; m <= j; m++) starts[m] = front;
  return starts;
}
