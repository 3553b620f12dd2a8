// The rows of "SnapKV: Show Status": the index, the model (or its load in flight, or why there is none), the caches.
import * as path from 'path';
import type { StatusResult } from '../../server/src/protocol';
import { formatBytes, formatTokens } from './format';
import type { IndexState } from './index-state';
import { modelLoadElapsed, modelLoadTitle } from './model-load-text';

/** A row as the quick pick shows it: an icon and name, and the facts beside it. */
export interface StatusRow {
  label: string;
  description: string;
}

export function statusRows(state: IndexState, status: StatusResult | undefined, now = Date.now()): StatusRow[] {
  const rows: StatusRow[] = [];
  const row = (label: string, description: string): void => void rows.push({ label, description });
  switch (state.kind) {
    case 'no-folder':
      row('$(folder) No folder', 'open a folder to ask about it');
      break;
    case 'untrusted':
      row('$(shield) Workspace not trusted', 'nothing has been indexed');
      break;
    case 'idle':
      row('$(circle-outline) Not indexed yet', 'ask a question or run Reindex Workspace');
      break;
    case 'starting':
      row('$(sync~spin) Starting the server', '');
      break;
    case 'indexing':
      row('$(sync~spin) Indexing', `${state.percentage !== undefined ? `${Math.round(state.percentage)}% ` : ''}${state.message ?? ''}`);
      break;
    case 'failed':
      row('$(error) Failed', state.message);
      break;
    case 'indexed':
      row('$(database) Indexed', `${state.result.files} files, ${formatTokens(state.result.tokens)} tokens, ` +
        `${state.result.leftOut.length} files left out (${state.result.source}, ${state.result.seconds.toFixed(1)} s)`);
      break;
  }
  if (status === undefined) return rows;
  if (status.remote) {
    const remote = status.remote;
    row('$(remote) Answered by', `${remote.model ?? 'a remote model'} at ${remote.url}${remote.snapkv ? ' (snapkv-code serve)' : ''}`);
    row(remote.snapkv ? '$(info) SnapKV' : '$(warning) SnapKV off', remote.note);
    if (remote.tokenCounting) row(remote.tokenCounting.source === 'endpoint' ? '$(symbol-numeric) Token counts' : '$(warning) Token counts', remote.tokenCounting.detail);
    if (remote.problem) row('$(error) Endpoint', remote.problem);
  } else if (status.model) {
    row('$(chip) Model', `${path.basename(status.model.path)} · ${status.model.architecture} · ${formatTokens(status.model.parameters)} parameters · context ${formatTokens(status.model.contextLength)}${status.model.demo ? ' · demo model' : ''}`);
    row('$(server-process) Backend', `${status.model.backend} (${status.model.backendReason})`);
    const gpu = status.model.gpu;
    if (gpu) {
      row('$(circuit-board) GPU memory', `${formatBytes(gpu.memoryInUse)} of ${formatBytes(gpu.memoryBudget)} in use on ${gpu.name} (weights ${formatBytes(gpu.weightBytes)})`);
    }
  } else if (status.modelLoad) {
    // Said plainly, so that nobody selects the model again while it is on its way.
    row(`$(loading~spin) ${modelLoadTitle(status.modelLoad)}`, `${modelLoadElapsed(status.modelLoad, now)}; a model selected now replaces it`);
  } else {
    row('$(warning) No model', status.modelProblem ?? 'select a GGUF model');
  }
  row('$(database) Repository prefix', `${formatTokens(status.tokensIndexed)} tokens · ${status.files} files · ${formatBytes(status.prefixBytes)}`);
  if (status.answerMode?.mode === 'one-shot') row('$(warning) One-shot', status.answerMode.note ?? 'each question reads the whole repository');
  row('$(archive) Compact caches', `${formatBytes(status.compactBytes)} · ${status.questionsRunning} answering, ${status.questionsQueued} queued`);
  return rows;
}
