// SnapKV's defaults have one owner, DEFAULT_SNAPKV (server/src/session/settings.ts): the settings the editor
// offers (package.json) and the engine's own defaults (snapkv_params.h, used when a caller passes none) are
// held to it here; the CLI's help prints it.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { USAGE } from '../server/src/cli/args';
import { Engine } from '../server/src/engine';
import { DEFAULT_SNAPKV, resolveSettings } from '../server/src/session/settings';
import { promptTokens } from './fixtures/tiny-models';
import { writeServerModel } from './helpers/server-fixtures';
import { useTempDir } from './helpers/temp-dir';

describe('SnapKV defaults', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('snapkv-defaults');

  it('the server resolves absent settings to DEFAULT_SNAPKV, and the CLI help prints it', () => {
    assert.deepStrictEqual(resolveSettings({}).snapkv, DEFAULT_SNAPKV);
    assert.match(USAGE, new RegExp(`--budget <n> .*\\(default ${DEFAULT_SNAPKV.budget}\\)`));
    assert.match(USAGE, new RegExp(`--window <n> .*\\(default ${DEFAULT_SNAPKV.window}\\)`));
    assert.match(USAGE, new RegExp(`--kernel <n> .*\\(default ${DEFAULT_SNAPKV.kernel}\\)`));
  });

  it("the editor's settings default to DEFAULT_SNAPKV", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
    };
    const properties = manifest.contributes.configuration.properties;
    for (const key of ['window', 'budget', 'kernel', 'pooling'] as const) {
      assert.strictEqual(properties[`snapkvCode.snapkv.${key}`]?.default, DEFAULT_SNAPKV[key], key);
    }
  });

  it("the engine's own defaults are DEFAULT_SNAPKV: a query with no options keeps what one with them keeps", async () => {
    const model = await Engine.load(writeServerModel(tempDir()), { backend: 'cpu' });
    try {
      // Longer than the budget, so that the selection (window, kernel, pooling) decides what is kept.
      const prefix = await model.prefill(promptTokens(DEFAULT_SNAPKV.budget + 300, 11), { logits: 'none' });
      const question = promptTokens(40, 12);
      const implicit = await prefix.query(question);
      const explicit = await prefix.query(question, DEFAULT_SNAPKV);
      const changed = await prefix.query(question, { ...DEFAULT_SNAPKV, kernel: DEFAULT_SNAPKV.kernel + 2 });
      const positions = (c: typeof implicit) => c.kept().map((layer) => layer.map((head) => [...head.positions]));
      assert.deepStrictEqual(positions(implicit), positions(explicit));
      assert.notDeepStrictEqual(positions(changed), positions(explicit), 'the check can tell defaults apart');
      for (const c of [implicit, explicit, changed]) c.dispose();
      prefix.dispose();
    } finally {
      model.dispose();
    }
  });
});
