// Where the repository's index stands, as the status bar, the status details and the chat panel show it.
import type { IndexResult } from '../../server/src/protocol';
import type { Failure } from './failure-advice';

export type IndexState =
  | { kind: 'no-folder' }
  | { kind: 'untrusted' }
  | { kind: 'idle' }
  | { kind: 'starting' }
  | { kind: 'indexing'; percentage?: number; message?: string }
  | { kind: 'indexed'; result: IndexResult }
  | { kind: 'failed'; message: string; failure: Failure | undefined };
