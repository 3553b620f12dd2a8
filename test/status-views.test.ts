// What the status bar and "SnapKV: Show Status" say of the model: while the server loads it, "Loading model
// <file> (<size>)…" with a spinner and how long it has taken; "No model" only when none is there and none loads.
import * as assert from 'assert';
import type { ModelLoadStatus, StatusResult } from '../server/src/protocol';
import type { IndexState } from '../extension/src/index-state';
import { modelLoadElapsed, modelLoadTitle } from '../extension/src/model-load-text';
import { statusBarView } from '../extension/src/status-bar-view';
import { statusRows } from '../extension/src/status-rows';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const LOAD: ModelLoadStatus = { path: '/models/qwen2.5-coder-7b-q4_k_m.gguf', bytes: 4.5 * 1024 ** 3, startedAt: NOW - 12_000 };
const TITLE = 'Loading model qwen2.5-coder-7b-q4_k_m.gguf (4.5 GiB)…';

function status(partial: Partial<StatusResult> = {}): StatusResult {
  return {
    model: null,
    folder: '/repo',
    indexing: false,
    files: 0,
    tokensIndexed: 0,
    prefixBytes: 0,
    compactBytes: 0,
    questionsRunning: 0,
    questionsQueued: 0,
    ...partial,
  };
}

const INDEXED: IndexState = {
  kind: 'indexed',
  result: { folder: '/repo', files: 4, tokens: 900, source: 'prefill', prefilledTokens: 900, seconds: 1, leftOut: [] },
};
const STATES: readonly IndexState[] = [{ kind: 'idle' }, { kind: 'no-folder' }, { kind: 'indexing', message: 'loading model' }, INDEXED, { kind: 'failed', message: 'x', failure: undefined }];

describe('status views while the model loads', () => {
  it('names the file and its size, and how long the load has taken', () => {
    assert.strictEqual(modelLoadTitle(LOAD), TITLE);
    assert.strictEqual(modelLoadTitle({ path: '/m/a.gguf', startedAt: NOW }), 'Loading model a.gguf…', 'no size when the server could not read it');
    assert.strictEqual(modelLoadElapsed(LOAD, NOW), 'for 12 s');
    assert.strictEqual(modelLoadElapsed({ ...LOAD, startedAt: NOW - 65_400 }, NOW), 'for 1 min 5 s');
    assert.strictEqual(modelLoadElapsed({ ...LOAD, startedAt: NOW + 3_000 }, NOW), 'for 0 s', 'a clock behind the server reads as just started');
  });

  it('the status bar shows the load with a spinner whatever the index is doing, and only while it loads', () => {
    for (const state of STATES) {
      const view = statusBarView(state, status({ modelLoad: LOAD }), NOW);
      assert.strictEqual(view.text, `$(loading~spin) ${TITLE}`, state.kind);
      assert.match(view.tooltip, /for 12 s/, state.kind);
      assert.ok(!view.error, state.kind);
    }
    // Once the load is over, and for a remote endpoint (the local model is not what answers), no load is shown.
    assert.doesNotMatch(statusBarView({ kind: 'idle' }, status(), NOW).text, /Loading/);
    assert.doesNotMatch(statusBarView(INDEXED, status({ tokensIndexed: 900 }), NOW).text, /Loading/);
    const remote = status({ modelLoad: LOAD, remote: { url: 'http://localhost:8080', model: 'm', snapkv: false, note: '' } });
    assert.doesNotMatch(statusBarView(INDEXED, remote, NOW).text, /Loading/);
  });

  it('Show Status has a loading row instead of "No model" while the model loads, and "No model" only without one', () => {
    const rows = statusRows({ kind: 'idle' }, status({ modelLoad: LOAD }), NOW);
    const loading = rows.filter((row) => row.label.includes('Loading model'));
    assert.deepStrictEqual(loading, [{ label: `$(loading~spin) ${TITLE}`, description: 'for 12 s; a model selected now replaces it' }]);
    assert.ok(!rows.some((row) => row.label.includes('No model')), JSON.stringify(rows));
    // "No model" only when none is loaded and none loads, with the problem when there is one.
    const none = statusRows({ kind: 'idle' }, status(), NOW);
    assert.deepStrictEqual(none.filter((row) => row.label.includes('No model')), [{ label: '$(warning) No model', description: 'select a GGUF model' }]);
    const failed = statusRows({ kind: 'idle' }, status({ modelProblem: 'model file /m/x.gguf does not exist: set the model path to a .gguf file' }), NOW);
    assert.match(failed.find((row) => row.label.includes('No model'))?.description ?? '', /does not exist/);
    assert.ok(!failed.some((row) => row.label.includes('Loading')));
  });
});
