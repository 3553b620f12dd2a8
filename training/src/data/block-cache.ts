// Each file rendered and tokenized once, as the server's packer does it (buildPackedBlock:
// the block format, tokenized on its own, with the token index of every line). Synthetic
// repositories reuse files many times, so tokenizing once makes generation cheap.
import { buildPackedBlock } from '../../../server/src/workspace/packed-block';
import type { BlockTokenizer, PackedBlock } from '../../../server/src/workspace/pack-types';
import { SourceFile } from './source-pool';

export class BlockCache {
  private readonly blocks = new Map<string, PackedBlock>();

  constructor(private readonly tokenizer: BlockTokenizer) {}

  get(file: SourceFile): PackedBlock {
    let block = this.blocks.get(file.path);
    if (block === undefined) {
      block = buildPackedBlock({ path: file.path, mtimeMs: 0, size: Buffer.byteLength(file.text), text: file.text }, this.tokenizer);
      this.blocks.set(file.path, block);
    }
    return block;
  }

  get size(): number {
    return this.blocks.size;
  }
}

/** Block-relative tokens [start, end) of a 1-based line of the file. */
export function lineTokenSpan(block: PackedBlock, line: number): [number, number] {
  if (!Number.isInteger(line) || line < 1 || line > block.lineCount) throw new Error(`${block.path} has no line ${line}`);
  const start = block.lineStartTokens[line - 1];
  const end = line < block.lineCount ? block.lineStartTokens[line] : block.footerStartToken;
  return [start, Math.max(end, start + 1)];
}
