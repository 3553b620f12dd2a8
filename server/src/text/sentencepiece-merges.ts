// SentencePiece BPE files carry piece scores, not merges. A BPE merge list with the same
// effect: every way to cut a normal piece into two symbols that can exist during merging
// (a normal piece or a single character) is a merge, ranked by the piece's score. SentencePiece
// joins the adjacent pair whose result scores highest; a merge list ordered by that score
// makes @huggingface/tokenizers' BPE join the same pairs in the same order.
import { TokenType } from './token-types';

export function sentencePieceMerges(tokens: readonly string[], tokenTypes: Int32Array, scores: Float32Array): [string, string][] {
  const normal = new Set<string>();
  for (let id = 0; id < tokens.length; id++) if (tokenTypes[id] === TokenType.NORMAL) normal.add(tokens[id]);
  const canBeSymbol = (text: string): boolean => normal.has(text) || isSingleCodePoint(text);

  const candidates: { left: string; right: string; score: number; id: number }[] = [];
  for (let id = 0; id < tokens.length; id++) {
    if (tokenTypes[id] !== TokenType.NORMAL) continue;
    const piece = tokens[id];
    // Cut only between code points: symbols start as whole characters.
    for (let cut = firstCut(piece); cut > 0 && cut < piece.length; cut = nextCut(piece, cut)) {
      const left = piece.slice(0, cut);
      const right = piece.slice(cut);
      if (canBeSymbol(left) && canBeSymbol(right)) candidates.push({ left, right, score: scores[id], id });
    }
  }
  // Higher score first; equal scores by id, then by the shorter left part, so the order is total and stable.
  candidates.sort((a, b) => b.score - a.score || a.id - b.id || a.left.length - b.left.length);
  return candidates.map((c) => [c.left, c.right]);
}

function isSingleCodePoint(text: string): boolean {
  const cp = text.codePointAt(0);
  return cp !== undefined && text.length === (cp > 0xffff ? 2 : 1);
}

function firstCut(text: string): number {
  return text.length === 0 ? 0 : nextCut(text, 0);
}

function nextCut(text: string, at: number): number {
  const cp = text.codePointAt(at) ?? 0;
  return at + (cp > 0xffff ? 2 : 1);
}
