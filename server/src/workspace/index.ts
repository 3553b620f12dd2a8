// The workspace packer's public surface for the rest of the server.
//
// packWorkspace lists the folder (git ls-files inside a work tree, else a walk
// honouring every .gitignore), leaves out what does not belong in a prompt
// (file-filter.ts has the rules and their precedence), and writes each
// remaining file as one block (block-format.ts) tokenized on its own. Blocks
// go oldest first, then by path, so an edit changes only the prompt's tail;
// under a token budget the newest files are kept (token-budget.ts). LineMap
// maps prompt token indices back to files and lines; firstChangedBlock says
// where two packings part, for incremental prefill.
export { packWorkspace, compareBlockOrder } from './pack-workspace';
export type { BlockTokenizer, ListingMode, PackedBlock, PackedWorkspace, PackOptions, PackProgress, PackProgressListener } from './pack-types';
export { LineMap } from './line-map';
export type { MappedBlock, TokenLocation } from './line-map';
export { firstChangedBlock } from './block-diff';
export { blockHeader, BLOCK_FOOTER, renderBlock } from './block-format';
export { listWorkspaceFiles } from './list-workspace-files';
export type { WorkspaceListing } from './list-workspace-files';
export type { ListedFile } from './listed-file-stats';
export { DEFAULT_MAX_FILE_BYTES, HARD_MAX_FILE_BYTES } from './file-filter';
export { WorkspaceError } from './workspace-errors';
export type { WorkspaceErrorCode } from './workspace-errors';
