// Streaming detokenization: tokens arrive one by one while a character may span several
// (a CJK character or an emoji made of byte tokens). The UTF-8 decoder in streaming mode
// keeps an incomplete character until its last byte arrives, and the concatenated output
// equals decoding all bytes at once.

export interface TokenStreamDecoder {
  /** The text completed by this token ('' while a character is still incomplete). */
  push(id: number): string;
  /** Whatever is left; bytes that never formed a character become U+FFFD. */
  end(): string;
}

/** ignoreBOM keeps a leading U+FEFF: decoding must give back exactly the text that was encoded. */
export function newUtf8Decoder(): InstanceType<typeof TextDecoder> {
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
}

export function createTokenStreamDecoder(bytesOf: (id: number) => Uint8Array | undefined): TokenStreamDecoder {
  const decoder = newUtf8Decoder();
  let ended = false;
  return {
    push(id: number): string {
      if (ended) throw new Error('token stream decoder: push() after end()');
      const bytes = bytesOf(id);
      return bytes === undefined || bytes.length === 0 ? '' : decoder.decode(bytes, { stream: true });
    },
    end(): string {
      if (ended) return '';
      ended = true;
      return decoder.decode();
    },
  };
}
