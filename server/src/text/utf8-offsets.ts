// Token boundaries come out of BPE as byte counts; the line map needs UTF-16 offsets.

/** UTF-8 length of the code point that starts at `text[i]` (a lone surrogate counts as U+FFFD: 3 bytes). */
export function utf8LengthAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code >= 0xd800 && code <= 0xdbff) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 4;
  }
  return 3;
}

/** UTF-16 units taken by the code point at `text[i]`. */
export function utf16LengthAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code >= 0xd800 && code <= 0xdbff) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 2;
  }
  return 1;
}

/**
 * UTF-16 offset in `text` of each byte offset in `byteOffsets` (ascending). A byte inside a
 * multi-byte character maps to that character's start; the end of the text maps to its length.
 */
export function utf16OffsetsOfBytes(text: string, byteOffsets: ArrayLike<number>, out: number[]): void {
  let unit = 0;
  let byte = 0;
  for (let k = 0; k < byteOffsets.length; k++) {
    const target = byteOffsets[k];
    while (unit < text.length) {
      const size = utf8LengthAt(text, unit);
      if (byte + size > target) break;
      byte += size;
      unit += utf16LengthAt(text, unit);
    }
    out.push(unit);
  }
}
