// End to end (issue 16, "a server that cannot initialize exits with its reason; the extension shows the
// reason and restarts it when the settings change"): VS Code starts with an even SnapKV pooling kernel,
// which the server refuses at initialize. The reason must reach the user (an error message with Open
// Settings, the chat panel's notice, a command's error message with the same button), the server
// process must be gone, and correcting the setting in the Settings editor must start it again, index,
// and answer a question.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Frame } from 'playwright-core';
import { ask, baseSettings, machineSettings, readLogs, VSIX, waitFor, waitForAsync, waitForServerPid, watchAnswer } from './chat-steps';
import { CodeServer, E2E_DIR } from './code-server';
import { copyWorkspace, e2eModel, screenshotsDir } from './fixtures';
import { launchChromium, Workbench } from './workbench';

/** What the server says of an even kernel (server/src/session/settings.ts). */
const REASON = /snapkv\.kernel must be odd, not 4/;

describe('VS Code end to end: settings the server refuses', function () {
  this.timeout(300_000);
  let browser: Browser;
  let server: CodeServer;
  let workbench: Workbench;
  let chat: Frame;

  before(async function () {
    if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} is missing: npm run test:e2e packages it first.`);
    const workspace = copyWorkspace('refused');
    const cacheDir = path.join(E2E_DIR, 'run', 'refused-cache');
    fs.rmSync(cacheDir, { recursive: true, force: true });
    server = await CodeServer.start({
      name: 'refused',
      vsix: VSIX,
      settings: { ...baseSettings(), 'snapkvCode.snapkv.kernel': 4, 'security.workspace.trust.enabled': false },
      machineSettings: machineSettings(e2eModel(), cacheDir),
    });
    browser = await launchChromium();
    workbench = await Workbench.open(browser, server.url(workspace), screenshotsDir(), 'refused');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await workbench?.screenshot('FAILED').catch(() => undefined);
  });

  after(async function () {
    await browser?.close();
    await server?.stop();
  });

  const toast = (text: RegExp | string) =>
    workbench.page.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();

  it('shows why the server could not start, with Open Settings, and leaves no server running', async function () {
    const message = toast(REASON);
    await message.waitFor({ timeout: 90_000 });
    assert.strictEqual(await message.locator('.monaco-button', { hasText: 'Open Settings' }).count(), 1, 'the message offers Open Settings');
    await workbench.openSnapKvContainer();
    chat = await workbench.webviewFrame('#composer', 60_000);
    const notice = chat.locator('#notice', { hasText: REASON });
    await notice.waitFor({ timeout: 20_000 });
    assert.match((await notice.textContent()) ?? '', /starts again when the settings change/);
    assert.strictEqual(await notice.locator('button', { hasText: 'Open Settings' }).count(), 1);
    await workbench.waitForStatus(/SnapKV/, 5_000);
    await workbench.screenshot('refused');
    // The server exits after refusing (it would otherwise answer "Unhandled method" to everything).
    await waitFor(() => server.languageServerPids().length === 0, 20_000, 'the refused server to exit');
    const logs = readLogs(server).ours;
    assert.match(logs, /failed to initialize: The SnapKV server cannot start: .*snapkv\.kernel must be odd/);
    assert.doesNotMatch(logs, /stopped unexpectedly|after repeated crashes/, 'a refusal is not reported as a crash');
  });

  it('a command that needs the server fails with the same reason and the same button, which opens the settings', async function () {
    // The start's own message says the same: clear it, so that what shows next is the command's.
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.page.locator('.notifications-toasts .notification-list-item').first().waitFor({ state: 'hidden', timeout: 10_000 });
    await workbench.runCommand('SnapKV: Reindex Workspace');
    const message = toast(/SnapKV: The SnapKV server cannot start: .*snapkv\.kernel must be odd, not 4\. Correct the setting/);
    await message.waitFor({ timeout: 20_000 });
    await workbench.screenshot('command-refused');
    await message.locator('.monaco-button', { hasText: 'Open Settings' }).click();
    await workbench.page.locator('.settings-editor').waitFor({ timeout: 20_000 });
    // Open Settings searches the extension's settings.
    const search = workbench.page.locator('.settings-editor .settings-header .suggest-input-container .monaco-editor .view-lines').first();
    await waitForAsync(async () => ((await search.textContent()) ?? '').includes('snapkvCode'), 20_000, 'the settings search');
    await workbench.screenshot('settings-opened');
  });

  it('starts the server again once the setting is corrected, indexes and answers', async function () {
    await workbench.setSetting('snapkvCode.snapkv.kernel', '5');
    await waitFor(() => /Settings changed while the server was down: starting it again/.test(readLogs(server).ours), 30_000, 'the restart');
    await waitForServerPid(server, undefined);
    await workbench.waitForStatus(/SnapKV [\d.]+k? tokens/, 120_000);
    await chat.locator('#notice').waitFor({ state: 'hidden', timeout: 20_000 });
    await workbench.screenshot('restarted');
    await ask(chat, 'Where is the low stock threshold configured?');
    const { final } = await watchAnswer(chat, (turn) => turn.status === 'done' || turn.status === 'error', 180_000);
    await workbench.screenshot('answered');
    assert.strictEqual(final.status, 'done', final.text);
    assert.ok(final.text.length > 0);
    assert.match(readLogs(server).ours, /Indexed .*: [1-9]\d* files/);
  });
});
