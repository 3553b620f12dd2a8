// Where two packings of the same folder start to differ, so the session can
// keep the prefix cache up to there and prefill only the tail.
import type { PackedBlock } from './pack-types';

type DiffedBlock = Pick<PackedBlock, 'path' | 'contentHash'>;

/**
 * Index of the first block whose path or content differs between the two
 * packings at the same position. Blocks before it are identical and in the same
 * places, so (with the same tokenizer and the same head before the blocks) the
 * prompt is unchanged up to LineMap.blockStartToken(index). When one list of
 * blocks is a prefix of the other this is the shorter length; when both are
 * identical it is their length, and nothing needs prefilling again.
 */
export function firstChangedBlock(previous: { blocks: readonly DiffedBlock[] }, next: { blocks: readonly DiffedBlock[] }): number {
  const common = Math.min(previous.blocks.length, next.blocks.length);
  for (let i = 0; i < common; i++) {
    const a = previous.blocks[i];
    const b = next.blocks[i];
    if (a.path !== b.path || a.contentHash !== b.contentHash) return i;
  }
  return common;
}
