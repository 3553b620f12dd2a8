// The shapes packWorkspace takes and returns. Types only, so the session and
// the tests can name them without loading the packer.
import type { LeftOutFile } from '../protocol';

/**
 * What the packer needs from a tokenizer. The real one (server/src/text) is
 * plugged in by the session; tests use small deterministic fakes.
 */
export interface BlockTokenizer {
  /**
   * Token ids of `text`, and for each token the UTF-16 offset in `text` where
   * it begins. Offsets must not decrease (several tokens of one character, as
   * byte-fallback tokens are, may share an offset).
   */
  encodeWithOffsets(text: string): { ids: number[]; starts: number[] };
}

/** How files are listed: git's view, a .gitignore-honouring walk, or git when the folder is in a work tree. */
export type ListingMode = 'auto' | 'git' | 'walk';

export interface PackOptions {
  /** Budget in tokens for all blocks together (default: no limit). */
  maxTokens?: number;
  /** Files larger than this many bytes are left out as too-large (default 256 KiB). */
  maxFileBytes?: number;
  /** Globs (relative to the folder) re-admitting files a default rule other than `binary` leaves out. */
  include?: string[];
  /** Globs leaving files out (reason `excluded`); they win over `include`. */
  exclude?: string[];
  /** Globs admitting files that hold a secret (only these do: `include` does not). */
  includeSecrets?: string[];
  /** Default 'auto'. */
  listing?: ListingMode;
  /**
   * The tokens a block takes where another tokenizer reads the prompt (a
   * remote endpoint's, counted over HTTP). The budget and `totalTokens` use it;
   * the blocks' token ids and line starts stay those of the packing tokenizer.
   * Default: the packing tokenizer's count.
   */
  countTokens?: (blockText: string, signal?: AbortSignal) => Promise<number>;
}

export interface PackProgress {
  /** Files decided so far: packed, or left out for any reason. */
  filesDone: number;
  filesTotal: number;
  /** Tokens in the blocks kept so far. */
  tokens: number;
}

export type PackProgressListener = (progress: PackProgress) => void;

/**
 * One file as it appears in the prompt. `text` is the whole block (see
 * block-format.ts): header line, file text ending with a newline, footer line,
 * blank line. Token indices below are relative to the block's first token.
 */
export interface PackedBlock {
  /** Relative to the folder, forward slashes. */
  path: string;
  mtimeMs: number;
  /** Bytes of the file as read. */
  size: number;
  /** sha256 (hex) of `text`: two blocks with equal path and hash tokenize alike. */
  contentHash: string;
  text: string;
  tokens: Int32Array;
  /** Lines of the file as VS Code counts them (\r\n, \n or a lone \r ends a line); 0 for an empty file. */
  lineCount: number;
  /**
   * lineStartTokens[i] is the index of the first token that begins at or after
   * the first character of line i + 1. Several lines share a value when no
   * token begins inside them (a multi-line token covers them). Token t lies on
   * line i + 1 for the largest i with lineStartTokens[i] <= t.
   */
  lineStartTokens: Int32Array;
  /** Index of the first token that begins in the file text (or in the footer, for an empty file). */
  contentStartToken: number;
  /** Index of the first token that begins in the footer; tokens.length when none does. */
  footerStartToken: number;
}

export interface PackedWorkspace {
  /** Absolute folder path. */
  root: string;
  /** How the files were listed. */
  listing: 'git' | 'walk';
  /** Least recently modified first, then by path (UTF-16 code unit order). */
  blocks: PackedBlock[];
  /** Every listed file that is not in `blocks`, with why; sorted by path. */
  leftOut: LeftOutFile[];
  totalTokens: number;
}
