// The context map of a question with the text of its kept lines: what an
// agent or a larger model reads instead of the whole repository.
import type { ContextExcerpt, ContextFileExcerpts, ContextMap } from '../protocol';
import { blockHeader, BLOCK_FOOTER } from '../workspace/block-format';
import type { PackedBlock } from '../workspace/pack-types';

export interface ExcerptLimits {
  maxFiles: number;
  maxChars: number;
}

export const DEFAULT_EXCERPT_LIMITS: ExcerptLimits = { maxFiles: 8, maxChars: 24_000 };

/** The file's lines as packed (the block without its header and footer), split as VS Code counts lines. */
function packedLines(block: PackedBlock): string[] {
  const content = block.text.slice(blockHeader(block.path).length, block.text.length - BLOCK_FOOTER.length);
  if (content === '') return [];
  // The packer ends every non-empty file with a line break: the piece after the last one is empty.
  return content.split(/\r\n|\n|\r/).slice(0, -1);
}

export function keptExcerpts(map: ContextMap, blocks: readonly PackedBlock[], limits: ExcerptLimits): { files: ContextFileExcerpts[]; truncated: boolean } {
  const byPath = new Map(blocks.map((block) => [block.path, block]));
  const files: ContextFileExcerpts[] = [];
  let chars = 0;
  let truncated = map.files.length > limits.maxFiles;
  for (const file of map.files.slice(0, limits.maxFiles)) {
    const block = byPath.get(file.path);
    const lines = block ? packedLines(block) : [];
    const excerpts: ContextExcerpt[] = [];
    for (const range of file.ranges) {
      const text = lines.slice(range.startLine - 1, range.endLine).join('\n');
      if (chars + text.length > limits.maxChars) {
        truncated = true;
        continue;
      }
      chars += text.length;
      excerpts.push({ ...range, text });
    }
    files.push({ path: file.path, share: file.share, kept: file.kept, excerpts });
  }
  return { files, truncated };
}
