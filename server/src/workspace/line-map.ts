// Prompt token index -> (file, line), for the references and the context map:
// SnapKV reports kept positions as prompt token indices.
import type { PackedBlock } from './pack-types';

/**
 * Where a prompt token lies. A token belongs to the place where its first
 * character is: a token that spans a line end belongs to the line it starts
 * on, one that spans several lines to the first of them. `line` is 1-based;
 * line 0 means the block's header or footer (the path line, `</file>` and the
 * blank line after it): the token is about the file, not any line of it.
 */
export interface TokenLocation {
  path: string;
  line: number;
}

/** The blocks a LineMap needs: a PackedBlock, or anything that keeps its token layout. */
export type MappedBlock = Pick<PackedBlock, 'path' | 'tokens' | 'lineStartTokens' | 'contentStartToken' | 'footerStartToken'>;

/** Largest i in [0, length) with values[i] <= target, or -1 when none. values must not decrease. */
function lastAtOrBelow(values: ArrayLike<number>, length: number, target: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export class LineMap {
  /** blockStarts[i]: prompt index of block i's first token; blockStarts[n]: one past the last block. */
  private readonly blockStarts: Float64Array;

  /**
   * @param blocks the packed blocks, in prompt order.
   * @param firstBlockToken prompt index of the first block's first token (the
   *   tokens of the chat template's head come before it).
   */
  constructor(
    private readonly blocks: readonly MappedBlock[],
    readonly firstBlockToken = 0,
  ) {
    if (!Number.isInteger(firstBlockToken) || firstBlockToken < 0) throw new RangeError(`firstBlockToken must be a whole number >= 0; got ${firstBlockToken}`);
    this.blockStarts = new Float64Array(blocks.length + 1);
    let at = firstBlockToken;
    for (let i = 0; i < blocks.length; i++) {
      this.blockStarts[i] = at;
      at += blocks[i].tokens.length;
    }
    this.blockStarts[blocks.length] = at;
  }

  get blockCount(): number {
    return this.blocks.length;
  }

  /** One past the last token of the last block: where the prompt's tail (the question) begins. */
  get endToken(): number {
    return this.blockStarts[this.blocks.length];
  }

  /** Prompt index of block i's first token. blockStartToken(blockCount) is endToken, so a cut "before block i" works for every i. */
  blockStartToken(i: number): number {
    this.checkIndex(i, this.blocks.length);
    return this.blockStarts[i];
  }

  /** Prompt index one past block i's last token. */
  blockEndToken(i: number): number {
    this.checkIndex(i, this.blocks.length - 1);
    return this.blockStarts[i + 1];
  }

  /** The block holding prompt token `promptToken`, or -1 when it lies outside every block. */
  blockIndexAt(promptToken: number): number {
    if (!(promptToken >= this.firstBlockToken && promptToken < this.endToken)) return -1;
    // Empty blocks cannot occur (every block has its header), so starts strictly ascend.
    return lastAtOrBelow(this.blockStarts, this.blocks.length, promptToken);
  }

  /**
   * Where to cut the prompt so that only whole blocks are prefilled again when
   * the prompts first differ at `promptToken`: the start of the block holding
   * it. A token before the first block (in the head) is its own cut point, and
   * one at or past endToken gives endToken.
   */
  blockStartAtOrBefore(promptToken: number): number {
    if (promptToken < this.firstBlockToken) return Math.max(0, Math.floor(promptToken));
    if (promptToken >= this.endToken) return this.endToken;
    return this.blockStarts[this.blockIndexAt(promptToken)];
  }

  locate(promptToken: number): TokenLocation | undefined {
    const b = this.blockIndexAt(promptToken);
    if (b < 0) return undefined;
    const block = this.blocks[b];
    const local = promptToken - this.blockStarts[b];
    if (local < block.contentStartToken || local >= block.footerStartToken) return { path: block.path, line: 0 };
    return { path: block.path, line: lastAtOrBelow(block.lineStartTokens, block.lineStartTokens.length, local) + 1 };
  }

  private checkIndex(i: number, max: number): void {
    if (!Number.isInteger(i) || i < 0 || i > max) throw new RangeError(`block index ${i} is outside 0..${max}`);
  }
}
