// A question that finds the workspace not yet indexed shows one work-done
// progress for the indexing, over a real LSP connection, even when the editor
// is slow to create it and many reports arrive meanwhile; and it is closed.
import * as assert from 'assert';
import * as path from 'path';
import type { AskResult } from '../server/src/protocol';
import { Methods } from '../server/src/protocol';
import { TestLspClient } from './helpers/lsp-client';
import { writeLargeRepo, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

describe('indexing before an answer, over LSP', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('ask-progress');

  it('opens one progress however many reports come before the editor created it, and ends it', async () => {
    const modelPath = writeServerModel(tempDir());
    const repo = path.join(tempDir(), 'repo');
    writeLargeRepo(repo, 40, 60);
    const client = new TestLspClient({ progressCreateDelayMs: 1500 });
    try {
      await client.initialize({ modelPath, backend: 'cpu', cacheDir: path.join(tempDir(), 'cache'), maxAnswerTokens: 4 }, repo);
      const answer = await client.connection.sendRequest<AskResult>(Methods.ask, { requestId: 'first', question: 'What is in this repository?' });
      assert.ok(answer.tokens > 0);
      const begun = client.progress.filter((p) => p.value.kind === 'begin');
      assert.deepStrictEqual(begun.map((p) => p.value.title), ['Indexing workspace before answering']);
      assert.strictEqual(client.createdProgressTokens.length, 1, 'one progress created');
      const token = begun[0].token;
      const ofToken = client.progress.filter((p) => p.token === token);
      assert.ok(ofToken.some((p) => p.value.kind === 'report'), 'the reports reach the one progress');
      assert.strictEqual(ofToken[ofToken.length - 1].value.kind, 'end', 'and it is closed after the last of them');
    } finally {
      await client.close();
    }
  });
});
