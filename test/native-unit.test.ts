// The engine's host-side rules that need neither a model nor a GPU (device
// memory budget, cache placement), checked in C++ by build/native/snapkv-unit-test.
import * as assert from 'assert';
import * as fs from 'fs';
import { nativeBuildFile, runProgram } from './helpers/run-program';

const TOOL = nativeBuildFile('snapkv-unit-test');

describe('native host-side rules (snapkv-unit-test)', function () {
  this.timeout(60_000);

  it('passes every check', async () => {
    assert.ok(fs.existsSync(TOOL), `${TOOL} is missing: run npm run build:native`);
    const { code, stdout } = await runProgram(TOOL, [], { timeoutMs: 60_000 });
    const failed = stdout.split('\n').filter((line) => line.startsWith('FAIL'));
    assert.deepStrictEqual(failed, []);
    assert.strictEqual(code, 0, stdout);
    const passed = stdout.split('\n').filter((line) => line.startsWith('PASS')).length;
    assert.ok(passed >= 10, `only ${passed} checks ran:\n${stdout}`);
  });
});
