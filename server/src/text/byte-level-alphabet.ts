// GPT-2's byte-level alphabet: each byte is written as one printable character, so byte-level
// BPE tokens are strings (space is "Ġ", newline "Ċ"). Printable Latin-1 bytes stand for
// themselves; the others take the code points from U+0100 upwards, in byte order.

function isPrintableByte(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

/** Character code of the byte-level character for each byte. */
export const BYTE_TO_CHAR_CODE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  let next = 0x100;
  for (let byte = 0; byte < 256; byte++) table[byte] = isPrintableByte(byte) ? byte : next++;
  return table;
})();

/** Byte for each byte-level character code (index: char code), -1 where the code is not in the alphabet. */
export const CHAR_CODE_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x100 + 68).fill(-1);
  for (let byte = 0; byte < 256; byte++) table[BYTE_TO_CHAR_CODE[byte]] = byte;
  return table;
})();

/** The bytes a byte-level token stands for, or undefined when it holds a character outside the alphabet. */
export function byteLevelTokenBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const byte = code < CHAR_CODE_TO_BYTE.length ? CHAR_CODE_TO_BYTE[code] : -1;
    if (byte < 0) return undefined;
    bytes[i] = byte;
  }
  return bytes;
}

export function byteLevelChar(byte: number): string {
  return String.fromCharCode(BYTE_TO_CHAR_CODE[byte]);
}
