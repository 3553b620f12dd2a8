// packWorkspace: the folder's files as prompt blocks, with every file that is
// not packed listed with its reason.
import * as fs from 'fs';
import * as path from 'path';
import { AbortError } from '../engine/errors';
import type { LeftOutFile } from '../protocol';
import { renderBlock } from './block-format';
import { isNodeAbort, throwIfAborted, yieldToEventLoop } from './cancellation';
import { compileFilterRules, FilterRules, judgeContent, leaveOutByPath } from './file-filter';
import { listWorkspaceFiles } from './list-workspace-files';
import type { ListedFile } from './listed-file-stats';
import { buildPackedBlock } from './packed-block';
import { PackProgressReporter } from './pack-progress';
import type { BlockTokenizer, PackedBlock, PackedWorkspace, PackOptions, PackProgressListener } from './pack-types';
import { TokenBudget } from './token-budget';
import { errorCode, WorkspaceError } from './workspace-errors';

const comparePaths = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The prompt order: least recently modified first, then by path. It depends on
 * nothing else, so touching the newest file changes only the last block.
 */
export function compareBlockOrder(a: { mtimeMs: number; path: string }, b: { mtimeMs: number; path: string }): number {
  return a.mtimeMs - b.mtimeMs || comparePaths(a.path, b.path);
}

function checkMaxTokens(maxTokens: number | undefined): void {
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 0)) {
    throw new WorkspaceError('INVALID_SETTING', `The token budget must be a whole number of tokens, 0 or more; got ${String(maxTokens)}.`);
  }
}

type FileVerdict = { text: string; size: number } | { leftOut: LeftOutFile };

const insideRoot = (realRoot: string, target: string): boolean => {
  const relative = path.relative(realRoot, target);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
};

// No following a link that replaced the file after it was listed; no blocking on a FIFO that did.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);

/**
 * Reads a listed file, and only from inside the folder: the listing skips
 * links, but a file (or a folder above it) can be swapped for a link between
 * listing and reading, so the real path is checked and the open refuses a link.
 */
async function readInsideRoot(file: ListedFile, realRoot: string, signal: AbortSignal | undefined): Promise<Buffer | LeftOutFile> {
  const real = await fs.promises.realpath(file.absolutePath);
  if (!insideRoot(realRoot, real)) {
    return { path: file.path, reason: 'excluded', detail: 'resolves to a location outside the folder (through a symbolic link): not read' };
  }
  const handle = await fs.promises.open(real, OPEN_FLAGS);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { path: file.path, reason: 'unreadable', detail: 'not a regular file (a FIFO, socket or device)' };
    return await handle.readFile({ signal });
  } finally {
    await handle.close();
  }
}

/** Reads a file that passed the path rules and applies the content rules. */
async function readAndJudge(file: ListedFile, realRoot: string, rules: FilterRules, signal: AbortSignal | undefined): Promise<FileVerdict> {
  let bytes: Buffer;
  try {
    const read = await readInsideRoot(file, realRoot, signal);
    if (!Buffer.isBuffer(read)) return { leftOut: read };
    bytes = read;
  } catch (error) {
    if (isNodeAbort(error)) throw new AbortError('workspace packing was cancelled');
    const code = errorCode(error);
    const detail =
      code === 'ENOENT' ? 'deleted while the folder was being packed' : code === 'ELOOP' ? 'became a symbolic link while the folder was being packed' : (code ?? String(error));
    return { leftOut: { path: file.path, reason: 'unreadable', detail } };
  }
  const verdict = judgeContent(file.path, bytes, rules);
  return 'text' in verdict ? { text: verdict.text, size: bytes.length } : verdict;
}

/**
 * Lists, filters, reads and tokenizes the folder's files. Files are read and
 * tokenized newest first, so that under a token budget the newest ones are kept;
 * the kept blocks are then put in prompt order. Between files it checks
 * `signal` (rejecting with AbortError) and yields to the event loop.
 */
export async function packWorkspace(
  root: string,
  tokenizer: BlockTokenizer,
  options: PackOptions = {},
  signal?: AbortSignal,
  onProgress?: PackProgressListener,
): Promise<PackedWorkspace> {
  checkMaxTokens(options.maxTokens);
  const rules = compileFilterRules(options);
  const listing = await listWorkspaceFiles(root, options.listing ?? 'auto', signal);
  const realRoot = await fs.promises.realpath(listing.root);

  const leftOut: LeftOutFile[] = [...listing.leftOut];
  const candidates: ListedFile[] = [];
  for (const file of listing.files) {
    const reason = leaveOutByPath(file.path, file.size, rules);
    if (reason) leftOut.push(reason);
    else candidates.push(file);
  }

  const filesTotal = listing.files.length + listing.leftOut.length;
  const progress = new PackProgressReporter(onProgress);
  const framing = tokenizer.encodeWithOffsets(renderBlock('', '').text).ids.length;
  // Half the framing of an empty block: a safe lower bound on any block, even where a tokenizer merges path characters.
  const budget = new TokenBudget(options.maxTokens, Math.floor(framing / 2));
  progress.report({ filesDone: leftOut.length, filesTotal, tokens: 0 });

  const kept: PackedBlock[] = [];
  candidates.sort((a, b) => compareBlockOrder(b, a));
  for (const file of candidates) {
    throwIfAborted(signal);
    // Read even when the budget is full, so a file's reason is the rule that applies to it, not the budget.
    const verdict = await readAndJudge(file, realRoot, rules, signal);
    if ('leftOut' in verdict) {
      leftOut.push(verdict.leftOut);
    } else if (budget.isFull) {
      leftOut.push(budget.full(file.path));
    } else {
      const block = buildPackedBlock({ path: file.path, mtimeMs: file.mtimeMs, size: verdict.size, text: verdict.text }, tokenizer);
      const tokens = options.countTokens ? await options.countTokens(block.text, signal) : block.tokens.length;
      if (budget.tryTake(tokens)) kept.push(block);
      else leftOut.push(budget.overLimit(file.path, tokens));
      // Tokenizing is synchronous work: let LSP messages, a cancel among them, through.
      await yieldToEventLoop();
    }
    progress.report({ filesDone: kept.length + leftOut.length, filesTotal, tokens: budget.tokensUsed });
  }
  throwIfAborted(signal);
  progress.report({ filesDone: kept.length + leftOut.length, filesTotal, tokens: budget.tokensUsed }, true);

  kept.sort(compareBlockOrder);
  leftOut.sort((a, b) => comparePaths(a.path, b.path) || comparePaths(a.reason, b.reason));
  return { root: listing.root, listing: listing.source, blocks: kept, leftOut, totalTokens: budget.tokensUsed };
}
