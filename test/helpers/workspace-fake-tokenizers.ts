// Deterministic stand-ins for the real tokenizer in the workspace tests. Each
// reports exact UTF-16 start offsets, and each stresses the line map in its own
// way: word-like tokens, fixed-width chunks that cross every boundary, and
// byte-fallback tokens that share a start offset.
import type { BlockTokenizer } from '../../server/src/workspace';

/** A stable small id for a token's text (FNV-1a, folded into 0..65535). */
function idOf(piece: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < piece.length; i++) h = Math.imul(h ^ piece.charCodeAt(i), 0x01000193);
  return (h >>> 0) % 65536;
}

function fromPieces(text: string, pattern: RegExp): { ids: number[]; starts: number[] } {
  const ids: number[] = [];
  const starts: number[] = [];
  for (const match of text.matchAll(pattern)) {
    ids.push(idOf(match[0]));
    starts.push(match.index ?? 0);
  }
  return { ids, starts };
}

/** One token per run of word characters, per run of whitespace (line breaks included), per other character. */
export const wordTokenizer: BlockTokenizer = {
  encodeWithOffsets: (text) => fromPieces(text, /\w+|\s+|[^\w\s]/gu),
};

/** Tokens of `width` UTF-16 units each: they straddle header/text/footer edges and line ends. */
export function chunkTokenizer(width: number): BlockTokenizer {
  return {
    encodeWithOffsets: (text) => {
      const ids: number[] = [];
      const starts: number[] = [];
      for (let i = 0; i < text.length; i += width) {
        ids.push(idOf(text.slice(i, i + width)));
        starts.push(i);
      }
      return { ids, starts };
    },
  };
}

/** ASCII characters one token each; any other character one token per UTF-8 byte, all at the character's offset. */
export const byteFallbackTokenizer: BlockTokenizer = {
  encodeWithOffsets: (text) => {
    const ids: number[] = [];
    const starts: number[] = [];
    let offset = 0;
    for (const ch of text) {
      const bytes = Buffer.from(ch, 'utf8');
      for (const b of bytes) {
        ids.push(bytes.length === 1 ? b : 256 + b);
        starts.push(offset);
      }
      offset += ch.length;
    }
    return { ids, starts };
  },
};

/** Wraps a tokenizer and records the texts it was asked to encode. */
export function recordingTokenizer(inner: BlockTokenizer): BlockTokenizer & { texts: string[] } {
  const texts: string[] = [];
  return {
    texts,
    encodeWithOffsets: (text) => {
      texts.push(text);
      return inner.encodeWithOffsets(text);
    },
  };
}
