// One run of ordinary text (no added tokens inside) to token ids: the part that differs
// between byte-level BPE and SentencePiece.

export interface TextRunEncoder {
  /**
   * Appends the tokens of `text.slice(start, end)` (ordinary text, no added tokens) to `ids`
   * and, when given, the UTF-16 offset in `text` where each token starts to `starts`.
   * `spacePrefix` is for SentencePiece; byte-level BPE has none.
   */
  encodeRun(text: string, start: number, end: number, spacePrefix: boolean, ids: number[], starts: number[] | undefined): void;
}
