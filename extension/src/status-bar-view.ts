// The status bar item's text: the index's progress, then tokens indexed and memory used, or the model loading.
import type { StatusResult } from '../../server/src/protocol';
import { formatBytes, formatTokens } from './format';
import type { IndexState } from './index-state';
import { modelLoadElapsed, modelLoadTitle } from './model-load-text';

export interface StatusBarView {
  text: string;
  tooltip: string;
  error?: boolean;
}

export function statusBarView(state: IndexState, status: StatusResult | undefined, now = Date.now()): StatusBarView {
  // A load in flight comes first, whatever the index: without it the model looks missing and invites a second load.
  if (status?.modelLoad && !status.remote) {
    const title = modelLoadTitle(status.modelLoad);
    return { text: `$(loading~spin) ${title}`, tooltip: `SnapKV Code: ${title} (${modelLoadElapsed(status.modelLoad, now)}). Click for status.` };
  }
  switch (state.kind) {
    case 'no-folder':
      return { text: '$(comment-discussion) SnapKV', tooltip: 'SnapKV Code: open a folder to ask about it' };
    case 'untrusted':
      return { text: '$(shield) SnapKV: untrusted', tooltip: 'The workspace is not trusted: nothing has been indexed. Click for status.' };
    case 'idle':
      return { text: '$(comment-discussion) SnapKV', tooltip: 'SnapKV Code: not indexed yet. Click for status.' };
    case 'starting':
      return { text: '$(sync~spin) SnapKV: starting', tooltip: 'Starting the SnapKV server' };
    case 'indexing': {
      const percent = state.percentage !== undefined ? ` ${Math.round(state.percentage)}%` : '';
      return { text: `$(sync~spin) SnapKV: indexing${percent}`, tooltip: state.message ?? 'Reading the repository into the model' };
    }
    case 'failed':
      return { text: '$(error) SnapKV', tooltip: `SnapKV Code: ${state.message}`, error: true };
    case 'indexed': {
      if (status?.indexing) return { text: '$(sync~spin) SnapKV: updating the index', tooltip: 'Files or settings changed: the server is updating the index' };
      const tokens = status?.tokensIndexed ?? state.result.tokens;
      const memory = status !== undefined ? ` · ${formatBytes(status.prefixBytes + status.compactBytes)}` : '';
      const busy = status !== undefined && status.questionsRunning > 0;
      const model = status?.remote
        ? `answered by ${status.remote.model ?? 'a remote model'} at ${status.remote.url}${status.remote.snapkv ? '' : ', without SnapKV'}`
        : status?.model ? `${status.model.architecture} on ${status.model.backend}` : 'model';
      return {
        text: `${busy ? '$(loading~spin)' : status?.remote ? '$(remote)' : '$(database)'} SnapKV ${formatTokens(tokens)} tokens${memory}`,
        tooltip: `${state.result.files} files, ${tokens} tokens indexed (${model}). Click for status.`,
      };
    }
  }
}
