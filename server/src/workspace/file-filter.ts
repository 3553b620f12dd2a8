// Decides, file by file, whether it is packed or left out and why. Path rules
// run on the listing alone; content rules run on the bytes once read.
//
// Precedence: `exclude` first (it always wins); then binary, which nothing
// re-admits; then secrets, which only an `includeSecrets` glob re-admits (an
// `include` glob written for lock files or generated code must not pack a
// key by accident); then the other default rules, any of which an `include`
// glob overrides. Only the hard size limit stands even for included files.
import type { LeftOutFile, LeftOutReason } from '../protocol';
import { binaryByContent, binaryByExtension } from './binary-detection';
import { generatedByContent, generatedByName, minifiedByContent, minifiedByName } from './generated-detection';
import { lockFileByName } from './lock-files';
import type { PackOptions } from './pack-types';
import { secretByContent, secretByName } from './secret-detection';
import { GlobList } from './user-globs';
import { WorkspaceError } from './workspace-errors';
import { formatBytes } from '../format-bytes';

export const DEFAULT_MAX_FILE_BYTES = 256 * 1024;
/** Even an included file larger than this is left out: one such file would take the whole context. */
export const HARD_MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface FilterRules {
  maxFileBytes: number;
  include: GlobList;
  exclude: GlobList;
  includeSecrets: GlobList;
}

export function compileFilterRules(options: PackOptions): FilterRules {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Number.isInteger(maxFileBytes) || maxFileBytes <= 0) {
    throw new WorkspaceError('INVALID_SETTING', `The largest file size must be a positive whole number of bytes; got ${String(maxFileBytes)}.`);
  }
  return {
    maxFileBytes,
    include: new GlobList(options.include, 'include'),
    exclude: new GlobList(options.exclude, 'exclude'),
    includeSecrets: new GlobList(options.includeSecrets, 'includeSecrets'),
  };
}

type Rule<T> = { reason: LeftOutReason; test: (input: T) => string | undefined };

/** Default rules on the path alone, in the order they are tried; the first that applies names the reason. */
const PATH_RULES: readonly Rule<string>[] = [
  { reason: 'lock-file', test: lockFileByName },
  { reason: 'minified', test: minifiedByName },
  { reason: 'generated', test: generatedByName },
];

const CONTENT_RULES: readonly Rule<string>[] = [
  { reason: 'minified', test: minifiedByContent },
  { reason: 'generated', test: generatedByContent },
];

function firstRule<T>(rules: readonly Rule<T>[], input: T): { reason: LeftOutReason; detail: string } | undefined {
  for (const rule of rules) {
    const detail = rule.test(input);
    if (detail !== undefined) return { reason: rule.reason, detail };
  }
  return undefined;
}

function sizeRule(relPath: string, size: number, limit: number, settingName: string): LeftOutFile {
  // Rounded, a size just over the limit would read as equal to it.
  const shown = formatBytes(size) === formatBytes(limit) ? `${size} bytes` : formatBytes(size);
  return { path: relPath, reason: 'too-large', detail: `${shown}, more than the ${formatBytes(limit)} ${settingName}` };
}

/** Whether an include glob re-admits the file, so later rules skip the default ones. */
export function isIncluded(relPath: string, rules: FilterRules): boolean {
  return rules.include.match(relPath) !== undefined;
}

/** Whether an includeSecrets glob admits the file although it holds a secret. */
function secretAdmitted(relPath: string, rules: FilterRules): boolean {
  return rules.includeSecrets.match(relPath) !== undefined;
}

/** The reason to leave a file out from its path and size alone, if any. */
export function leaveOutByPath(relPath: string, size: number, rules: FilterRules): LeftOutFile | undefined {
  const excludedBy = rules.exclude.match(relPath);
  if (excludedBy !== undefined) return { path: relPath, reason: 'excluded', detail: `matches exclude glob "${excludedBy}"` };
  const binary = binaryByExtension(relPath);
  if (binary) return { path: relPath, reason: 'binary', detail: binary };
  if (size > HARD_MAX_FILE_BYTES) return sizeRule(relPath, size, HARD_MAX_FILE_BYTES, 'any file may have');
  if (!secretAdmitted(relPath, rules)) {
    const secret = secretByName(relPath);
    if (secret) return { path: relPath, reason: 'secret', detail: `${secret} (the includeSecrets setting can admit it)` };
  }
  if (isIncluded(relPath, rules)) return undefined;
  const rule = firstRule(PATH_RULES, relPath);
  if (rule) return { path: relPath, ...rule };
  if (size > rules.maxFileBytes) return sizeRule(relPath, size, rules.maxFileBytes, 'file size limit');
  return undefined;
}

export type ContentVerdict = { text: string } | { leftOut: LeftOutFile };

// Not fatal: invalid sequences become U+FFFD, as an editor shows them. The BOM is dropped, as editors hide it.
const utf8 = new TextDecoder('utf-8');

/** Decodes a file that passed the path rules, or says why its content leaves it out. */
export function judgeContent(relPath: string, bytes: Uint8Array, rules: FilterRules): ContentVerdict {
  // Re-checked here: the file may have grown since it was listed.
  const byPath = leaveOutByPath(relPath, bytes.length, rules);
  if (byPath) return { leftOut: byPath };
  const binary = binaryByContent(bytes);
  if (binary) return { leftOut: { path: relPath, reason: 'binary', detail: binary } };
  const text = utf8.decode(bytes);
  if (!secretAdmitted(relPath, rules)) {
    const secret = secretByContent(text);
    if (secret) return { leftOut: { path: relPath, reason: 'secret', detail: `${secret} (the includeSecrets setting can admit it)` } };
  }
  if (!isIncluded(relPath, rules)) {
    const rule = firstRule(CONTENT_RULES, text);
    if (rule) return { leftOut: { path: relPath, ...rule } };
  }
  return { text };
}
