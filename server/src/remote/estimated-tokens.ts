// Token counts for packing a repository that a remote endpoint will read,
// when its tokenizer is not here. An estimate on the safe side: code runs at
// 3.5 to 4.5 characters per token with the BPE vocabularies of code models,
// so one token per 3 characters rarely packs more than the endpoint holds.
import type { BlockTokenizer } from '../workspace/pack-types';

export const CHARACTERS_PER_TOKEN = 3;

/** Pieces of up to CHARACTERS_PER_TOKEN characters; every line starts a new piece. */
export const estimatingTokenizer: BlockTokenizer = {
  encodeWithOffsets(text: string): { ids: number[]; starts: number[] } {
    const starts: number[] = [];
    let pieceStart = 0;
    for (let i = 0; i <= text.length; i++) {
      const lineStart = i > 0 && text[i - 1] === '\n';
      if (i === text.length || lineStart || i - pieceStart === CHARACTERS_PER_TOKEN) {
        if (i > pieceStart) starts.push(pieceStart);
        pieceStart = i;
      }
    }
    return { ids: starts.map(() => 0), starts };
  },
};

/** The estimated tokens of `text`, as the estimating tokenizer would split it. */
export function estimateTokens(text: string): number {
  return estimatingTokenizer.encodeWithOffsets(text).ids.length;
}
