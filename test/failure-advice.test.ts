// One owner for what a failure offers (extension/src/failure-advice.ts): the chat panel's turn and notice
// and a command's error message show the same text and the same button for a code, and every button runs
// a command that exists (ours declared in package.json, or one of VS Code's own).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { PANEL_ACTIONS } from '../extension/src/chat-messages';
import { ACTION_COMMANDS, adviceFor, Failure, failureNotice, failureOf, ServerFailure } from '../extension/src/failure-advice';
import { ENGINE_ERROR_CODES, SERVER_ERROR_CODES } from '../server/src/protocol';

const FAILURES: readonly (Failure | undefined)[] = [...ENGINE_ERROR_CODES, ...SERVER_ERROR_CODES, 'SERVER_STOPPED', undefined];

/** VS Code's own commands that a button may run. */
const BUILT_IN_COMMANDS = new Set(['workbench.trust.manage', 'workbench.action.openSettings']);

function declaredCommands(): Set<string> {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: { commands: Array<{ command: string }> } };
  return new Set(manifest.contributes.commands.map((c) => c.command));
}

describe('failure advice: one owner for the panel and the commands', () => {
  it('gives every failure its message, its hint after it, and its button', () => {
    for (const failure of FAILURES) {
      const advice = adviceFor(failure);
      const notice = failureNotice('It failed.', failure);
      assert.strictEqual(notice.text, advice.hint ? `It failed. ${advice.hint}` : 'It failed.', String(failure));
      assert.deepStrictEqual(notice.action, advice.action, String(failure));
    }
  });

  it('offers Open Settings for settings the server refused, and Restart Server for a server that gave up', () => {
    // What RepoServer.downFailure carries, read back the way a command's error message reads it.
    const refused = failureOf(new ServerFailure('The SnapKV server cannot start: setting snapkv.kernel must be odd, not 4.', 'INVALID_SETTINGS'));
    assert.deepStrictEqual(failureNotice('x', refused).action, { label: 'Open Settings', command: 'openSettings' });
    assert.deepStrictEqual(failureNotice('x', failureOf(new ServerFailure('gave up', 'SERVER_STOPPED'))).action, { label: 'Restart Server', command: 'restartServer' });
    assert.deepStrictEqual(failureNotice('x', 'CANCELLED'), { text: 'x', action: undefined });
  });

  it('runs every button as a command that exists', () => {
    const declared = declaredCommands();
    assert.deepStrictEqual(Object.keys(ACTION_COMMANDS).sort(), [...PANEL_ACTIONS].sort());
    for (const [action, [command]] of Object.entries(ACTION_COMMANDS)) {
      assert.ok(declared.has(command) || BUILT_IN_COMMANDS.has(command), `${action} runs ${command}, which nothing declares`);
    }
    for (const failure of FAILURES) {
      const action = adviceFor(failure).action;
      if (action) assert.ok(ACTION_COMMANDS[action.command], `${String(failure)}: ${action.command}`);
    }
  });
});
