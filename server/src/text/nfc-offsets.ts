// Unicode NFC that remembers where each normalized character came from.
//
// NFC never joins across an ASCII character that is followed by another ASCII character
// or ends the text: no canonical composition has an ASCII second part, and an ASCII
// character is a starter that nothing reorders across. So the text is normalized in pieces:
// each non-ASCII run together with the ASCII character just before it (which a combining
// mark may join). ASCII between pieces maps one to one; a piece that NFC changes maps all
// its characters to the piece's start. Pieces never contain a line break, so line numbers
// derived from the offsets stay exact.

export interface NormalizedText {
  readonly text: string;
  /** For each UTF-16 unit of `text`, its offset in the original; undefined when normalization changed nothing. */
  readonly origin: Int32Array | undefined;
}

const NON_ASCII = /[^\x00-\x7f]/;
const PIECE = /[\x00-\x7f]?[^\x00-\x7f]+/g;

export function normalizeNfc(text: string): NormalizedText {
  if (!NON_ASCII.test(text)) return { text, origin: undefined };
  const whole = text.normalize('NFC');
  if (whole === text) return { text, origin: undefined };

  const parts: string[] = [];
  const origin: number[] = [];
  let done = 0;
  PIECE.lastIndex = 0;
  for (let match = PIECE.exec(text); match !== null; match = PIECE.exec(text)) {
    const start = match.index;
    for (let i = done; i < start; i++) origin.push(i);
    parts.push(text.slice(done, start));
    const normalized = match[0].normalize('NFC');
    parts.push(normalized);
    if (normalized === match[0]) {
      for (let i = 0; i < normalized.length; i++) origin.push(start + i);
    } else {
      for (let i = 0; i < normalized.length; i++) origin.push(start);
    }
    done = start + match[0].length;
  }
  for (let i = done; i < text.length; i++) origin.push(i);
  parts.push(text.slice(done));

  const normalized = parts.join('');
  // The piecewise result must be the NFC of the whole text; the argument above says it is.
  if (normalized !== whole) throw new Error('internal: piecewise NFC differs from NFC of the whole text');
  return { text: normalized, origin: Int32Array.from(origin) };
}
