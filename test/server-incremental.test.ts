// Incremental re-indexing: after an edit only the blocks from the first
// changed one are prefilled again (counted by the engine), and answers equal
// those after a full re-index.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Session } from '../server/src/session/session';
import { FIXTURE_FILES, writeFixtureRepo, writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

function touch(file: string, secondsFromNow: number): void {
  const t = Date.now() / 1000 + secondsFromNow;
  fs.utimesSync(file, t, t);
}

describe('incremental indexing', function () {
  this.timeout(180_000);
  const tempDir = useTempDir('server-incremental');
  let modelPath: string;

  before(() => {
    modelPath = writeServerModel(tempDir());
  });

  function session(repo: string, cache: string): Session {
    return new Session({ settings: { modelPath, cacheDir: path.join(tempDir(), cache), backend: 'cpu', maxAnswerTokens: 10 }, defaultFolder: repo });
  }

  it('after an edit to the newest file, prefills only its block again and answers as a full re-index does', async () => {
    const repo = path.join(tempDir(), 'repo-newest');
    writeFixtureRepo(repo);
    const s = session(repo, 'cache-a');
    try {
      const first = await s.indexFolder();
      assert.strictEqual(first.prefilledTokens, first.tokens);
      const newest = FIXTURE_FILES[FIXTURE_FILES.length - 1].path;
      fs.appendFileSync(path.join(repo, newest), '# a new comment line\n');
      touch(path.join(repo, newest), 0);

      const preview = await s.previewIndex();
      const blocks = preview.packed.blocks;
      assert.strictEqual(blocks[blocks.length - 1].path, newest, 'the edited file is the last block');
      const lastBlockStart = preview.tokens.length - blocks[blocks.length - 1].tokens.length;

      const second = await s.indexFolder();
      assert.strictEqual(second.source, 'incremental');
      assert.strictEqual(second.tokens, preview.tokens.length);
      assert.strictEqual(second.prefilledTokens, second.tokens - lastBlockStart, 'only the edited block ran through the model');
      const incrementalAnswer = await s.ask({ requestId: 'inc', question: 'What does report print?' });
      const incrementalMap = s.contextMap('inc');

      const full = await s.indexFolder({ force: true });
      assert.strictEqual(full.prefilledTokens, full.tokens);
      const fullAnswer = await s.ask({ requestId: 'full', question: 'What does report print?' });
      assert.strictEqual(incrementalAnswer.text, fullAnswer.text);
      assert.deepStrictEqual(incrementalMap?.files, s.contextMap('full')?.files);

      const unchanged = await s.indexFolder();
      assert.strictEqual(unchanged.source, 'unchanged');
      assert.strictEqual(unchanged.prefilledTokens, 0);
    } finally {
      await s.dispose();
    }
  });

  it('after an edit to an older file, cuts at that file\'s old place and prefills from there', async () => {
    const repo = path.join(tempDir(), 'repo-older');
    writeFixtureRepo(repo);
    const s = session(repo, 'cache-b');
    try {
      await s.indexFolder();
      const before = await s.previewIndex();
      const edited = 'src/config.ts';
      const oldIndex = before.packed.blocks.findIndex((b) => b.path === edited);
      assert.ok(oldIndex > 0 && oldIndex < before.packed.blocks.length - 1, 'the edited file sits in the middle');
      let cut = before.tokens.length;
      for (let i = before.packed.blocks.length - 1; i >= oldIndex; i--) cut -= before.packed.blocks[i].tokens.length;

      fs.writeFileSync(path.join(repo, edited), "export const MAX_ITEMS = 500;\nexport const CURRENCY = 'EUR';\n");
      touch(path.join(repo, edited), 0);
      const after = await s.indexFolder();
      assert.strictEqual(after.prefilledTokens, after.tokens - cut);
      const answer = await s.ask({ requestId: 'older', question: 'What is MAX_ITEMS?' });
      const full = await s.indexFolder({ force: true });
      assert.strictEqual(full.tokens, after.tokens);
      const fullAnswer = await s.ask({ requestId: 'older-full', question: 'What is MAX_ITEMS?' });
      assert.strictEqual(answer.text, fullAnswer.text);
    } finally {
      await s.dispose();
    }
  });

  it('saves the cache of an incremental update when the session ends, and the next session starts from it', async () => {
    const repo = path.join(tempDir(), 'repo-saved');
    writeFixtureRepo(repo);
    const first = session(repo, 'cache-d');
    let edited;
    try {
      await first.indexFolder();
      fs.appendFileSync(path.join(repo, 'src/report.py'), '# edited\n');
      edited = await first.indexFolder();
      assert.strictEqual(edited.source, 'incremental');
    } finally {
      await first.dispose();
    }
    const second = session(repo, 'cache-d');
    try {
      const reloaded = await second.indexFolder();
      assert.strictEqual(reloaded.source, 'saved-cache');
      assert.strictEqual(reloaded.tokens, edited.tokens);
      assert.strictEqual(reloaded.prefilledTokens, 0, 'the edited state was saved, so nothing runs again');
    } finally {
      await second.dispose();
    }
  });

  it('picks up a deleted and a created file', async () => {
    const repo = path.join(tempDir(), 'repo-churn');
    writeFixtureRepo(repo);
    const s = session(repo, 'cache-c');
    try {
      const first = await s.indexFolder();
      fs.rmSync(path.join(repo, 'src/report.py'));
      fs.writeFileSync(path.join(repo, 'src/new.ts'), 'export const created = true;\n');
      const second = await s.indexFolder();
      assert.strictEqual(second.files, first.files);
      const preview = await s.previewIndex();
      const paths = preview.packed.blocks.map((b) => b.path);
      assert.ok(!paths.includes('src/report.py'));
      assert.strictEqual(paths[paths.length - 1], 'src/new.ts');
      assert.ok(second.prefilledTokens < second.tokens);
    } finally {
      await s.dispose();
    }
  });
});
