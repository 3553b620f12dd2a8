// What the command-line tool prints after the work: kept files and lines,
// the packing report, the models found.
import { formatBytes } from '../format-bytes';
import type { AskResult, ContextMap } from '../protocol';
import type { ModelFacts } from '../session/model-facts';
import type { PackedPrompt } from '../session/workspace-index';
import { terminalJson, visibleName, visibleText } from './terminal-text';

const write = (text: string): void => void process.stdout.write(text);

/** One piece of a streamed answer, as the terminal should show it. */
export function printAnswerText(text: string): void {
  write(visibleText(text));
}

export function printAnswerSummary(answer: AskResult, map: ContextMap | undefined): void {
  write('\n');
  if (answer.stopReason === 'cancelled') write('\n(stopped)\n');
  if (answer.stopReason === 'max-tokens') write(`\n(stopped at the limit of ${answer.tokens} tokens; raise it with --max-tokens)\n`);
  const t = answer.timings;
  write(
    `\n${answer.tokens} tokens · compression ${(t.compressMs / 1000).toFixed(2)} s · first token ${(t.firstTokenMs / 1000).toFixed(2)} s · ` +
      `${t.decodeMsPerToken.toFixed(1)} ms/token · compact cache ${formatBytes(answer.compactBytes)}\n`,
  );
  if (!map || map.files.length === 0) return;
  write('\nKept context (share of the kept cache):\n');
  for (const file of map.files.slice(0, 10)) {
    const ranges = file.ranges
      .slice(0, 4)
      .map((r) => (r.startLine === r.endLine ? `${r.startLine}` : `${r.startLine}-${r.endLine}`))
      .join(', ');
    write(`  ${(file.share * 100).toFixed(1).padStart(5)}%  ${visibleName(file.path)}:${ranges}\n`);
  }
  if (map.files.length > 10) write(`  … and ${map.files.length - 10} more files\n`);
}

export function printIndexPreview(preview: PackedPrompt, json: boolean, contextLength: number | undefined): void {
  const { packed } = preview;
  if (json) {
    write(
      `${terminalJson(
        {
          folder: packed.root,
          listing: packed.listing,
          tokens: preview.tokens.length,
          files: packed.blocks.map((b) => ({ path: b.path, tokens: b.tokens.length, bytes: b.size })),
          leftOut: packed.leftOut,
        },
      )}\n`,
    );
    return;
  }
  write(`Packed (${packed.listing === 'git' ? "git's file list" : 'folder walk honouring .gitignore'}), oldest first:\n`);
  for (const block of packed.blocks) write(`  ${String(block.tokens.length).padStart(8)} tokens  ${visibleName(block.path)}\n`);
  if (packed.leftOut.length > 0) {
    write('\nLeft out:\n');
    for (const file of packed.leftOut) write(`  ${file.reason.padEnd(16)} ${visibleName(file.path)}${file.detail ? ` (${visibleName(file.detail)})` : ''}\n`);
  }
  const of = contextLength ? ` of the model's ${contextLength.toLocaleString('en-US')}` : '';
  write(`\n${packed.blocks.length} files, ${packed.leftOut.length} left out, ${preview.tokens.length.toLocaleString('en-US')} tokens${of} (prompt head included)\n`);
}

export function printModels(models: readonly ModelFacts[], howTo: string, demo: string | undefined): void {
  if (models.length === 0) {
    write(`${howTo}\n`);
  } else {
    for (const m of models) {
      const context = m.contextLength > 0 ? `, context ${m.contextLength.toLocaleString('en-US')}` : '';
      write(`${m.source.padEnd(10)} ${visibleName(m.name)}  (${visibleName(m.architecture || 'unknown architecture')}, ${formatBytes(m.bytes)}${context})\n`);
      write(`    weights: ${visibleName(m.weightTypes || 'none')}\n`);
      write(`    ${m.runs ? 'runs here' : `does not run here: ${visibleName(m.whyNot ?? 'unknown reason')}`}\n`);
      write(`    ${visibleName(m.path)}\n`);
    }
  }
  if (demo) write(`\nBundled demonstration model (small; for where-is and what-is questions): ${visibleName(demo)}\n`);
}
