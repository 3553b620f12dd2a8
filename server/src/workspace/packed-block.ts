// One file turned into a PackedBlock: rendered, tokenized on its own (so its
// tokens never depend on its neighbours and the prompt can be cut between
// blocks), and indexed so each token can be traced to a line.
import { createHash } from 'crypto';
import { renderBlock } from './block-format';
import { lineStartOffsets } from './line-starts';
import type { BlockTokenizer, PackedBlock } from './pack-types';

function tokenizeChecked(tokenizer: BlockTokenizer, text: string, relPath: string): { ids: number[]; starts: number[] } {
  const { ids, starts } = tokenizer.encodeWithOffsets(text);
  if (ids.length !== starts.length) {
    throw new Error(`The tokenizer returned ${ids.length} tokens but ${starts.length} offsets for ${relPath}.`);
  }
  for (let i = 0; i < ids.length; i++) {
    if (!Number.isInteger(ids[i]) || ids[i] < 0 || ids[i] > 0x7fffffff) {
      throw new Error(`The tokenizer returned a bad token id ${ids[i]} for token ${i} of ${relPath}.`);
    }
  }
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i];
    if (!Number.isInteger(start) || start < 0 || start > text.length || (i > 0 && start < starts[i - 1])) {
      throw new Error(`The tokenizer returned a bad offset ${start} for token ${i} of ${relPath}: offsets must be ascending positions in the text.`);
    }
  }
  return { ids, starts };
}

/** Index of the first token that begins at or after `offset`, searching from `from`. */
function firstTokenAtOrAfter(starts: readonly number[], offset: number, from: number): number {
  let t = from;
  while (t < starts.length && starts[t] < offset) t++;
  return t;
}

export interface FileSnapshot {
  path: string;
  mtimeMs: number;
  size: number;
  text: string;
}

export function buildPackedBlock(file: FileSnapshot, tokenizer: BlockTokenizer): PackedBlock {
  const rendered = renderBlock(file.path, file.text);
  const { ids, starts } = tokenizeChecked(tokenizer, rendered.text, file.path);
  const lineOffsets = lineStartOffsets(rendered.text, rendered.contentStart, rendered.contentEnd);

  const contentStartToken = firstTokenAtOrAfter(starts, rendered.contentStart, 0);
  // One forward sweep: line starts and token starts are both ascending.
  const lineStartTokens = new Int32Array(lineOffsets.length);
  let t = contentStartToken;
  for (let line = 0; line < lineOffsets.length; line++) {
    t = firstTokenAtOrAfter(starts, lineOffsets[line], t);
    lineStartTokens[line] = t;
  }
  const footerStartToken = firstTokenAtOrAfter(starts, rendered.contentEnd, t);

  return {
    path: file.path,
    mtimeMs: file.mtimeMs,
    size: file.size,
    contentHash: createHash('sha256').update(rendered.text).digest('hex'),
    text: rendered.text,
    tokens: Int32Array.from(ids),
    lineCount: lineOffsets.length,
    lineStartTokens,
    contentStartToken,
    footerStartToken,
  };
}
