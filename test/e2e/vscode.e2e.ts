// End to end, in a real VS Code: code-server 4.96.4 (VS Code 1.96 for the web) driven by playwright-core in
// Debian's Chromium, with the .vsix of `npm run package` installed, a fixture workspace and a tiny fixture model.
// Run with `npm run setup:e2e` once, then `npm run test:e2e`. Screenshots of every step go to .e2e/screenshots.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Frame } from 'playwright-core';
import { ask, baseSettings, lastTurn, machineSettings, readLogs, VSIX, waitFor, waitForAsync, waitForServerPid, watchAnswer } from './chat-steps';
import { CodeServer, E2E_DIR } from './code-server';
import { copyWorkspace, e2eModel, screenshotsDir } from './fixtures';
import { launchChromium, Workbench } from './workbench';

/** "compact cache 48 KB" in an answer's stats line, in bytes. */
function compactCacheBytes(stats: string): number {
  const match = /compact cache ([\d.]+) (bytes|KiB|MiB|GiB)/.exec(stats);
  assert.ok(match, `stats: ${stats}`);
  return Number(match[1]) * 1024 ** ['bytes', 'KiB', 'MiB', 'GiB'].indexOf(match[2]);
}

describe('VS Code end to end (code-server + Chromium)', function () {
  this.timeout(300_000);
  let browser: Browser;
  let model: string;

  before(function () {
    if (!fs.existsSync(VSIX)) throw new Error(`${VSIX} is missing: npm run test:e2e packages it first.`);
    model = e2eModel();
  });

  describe('in a trusted workspace', function () {
    let server: CodeServer;
    let workbench: Workbench;
    let chat: Frame;
    let workspace: string;

    before(async function () {
      workspace = copyWorkspace('trusted');
      const cacheDir = path.join(E2E_DIR, 'run', 'trusted-cache');
      fs.rmSync(cacheDir, { recursive: true, force: true });
      server = await CodeServer.start({
        name: 'trusted',
        vsix: VSIX,
        settings: { ...baseSettings(), 'security.workspace.trust.enabled': false },
        machineSettings: machineSettings(model, cacheDir),
      });
      browser = await launchChromium();
      workbench = await Workbench.open(browser, server.url(workspace), screenshotsDir(), 'trusted');
    });

    afterEach(async function () {
      if (this.currentTest?.state === 'failed') await workbench?.screenshot('FAILED').catch(() => undefined);
    });

    after(async function () {
      await browser?.close();
      await server?.stop();
    });

    it('installs from the .vsix, activates, indexes the workspace, with no error in the logs', async function () {
      await workbench.screenshot('workbench');
      await workbench.openSnapKvContainer();
      chat = await workbench.webviewFrame('#composer', 60_000);
      const status = await workbench.waitForStatus(/SnapKV [\d.]+k? tokens/, 120_000);
      await workbench.screenshot('indexed');
      assert.match(status, /tokens/);
      const logs = readLogs(server);
      assert.match(logs.ours, /SnapKV Code 0\.1\.0 activated/);
      assert.match(logs.ours, /Indexed .*: [1-9]\d* files/);
      assert.doesNotMatch(logs.ours, /\[error\]/);
      const hostErrors = logs.extensionHost.split('\n').filter((line) => /\[error\]/.test(line) && /snapkv/i.test(line));
      assert.deepStrictEqual(hostErrors, []);
      assert.match(logs.extensionHost, /_doActivateExtension snapkv\.snapkv-code/);
    });

    it('registers the repository tools for agent mode (vscode.lm.registerTool, VS Code 1.96)', function () {
      assert.match(readLogs(server).ours, /Registered the language-model tools snapkv_ask_repository and snapkv_repository_context/);
    });

    it('shows tokens and memory in the status bar; clicking it shows the status', async function () {
      const status = await workbench.snapkvStatus();
      assert.match(status, /SnapKV [\d.]+k? tokens · [\d.]+ (bytes|KiB|MiB|GiB)/);
      await workbench.page.locator('.statusbar-item', { hasText: /SnapKV/ }).first().click();
      const rows = workbench.page.locator('.quick-input-list .monaco-list-row');
      await rows.filter({ hasText: 'Repository prefix' }).first().waitFor({ timeout: 20_000 });
      await rows.filter({ hasText: 'Model' }).first().waitFor();
      await workbench.screenshot('status-details');
      await workbench.page.keyboard.press('Escape');
    });

    it('streams an answer into the chat panel', async function () {
      await ask(chat, 'Where is the low stock threshold configured, and who uses it?');
      const seen = await watchAnswer(chat, (turn) => turn.status === 'streaming' && turn.text.length > 40, 120_000);
      await workbench.screenshot('answer-streaming');
      const { final, partialLengths } = await watchAnswer(chat, (turn) => turn.status === 'done' || turn.status === 'error', 180_000);
      await workbench.screenshot('answer-done');
      assert.strictEqual(final.status, 'done', final.text);
      const lengths = [...seen.partialLengths, ...partialLengths];
      assert.ok(new Set(lengths).size >= 2, `the answer grew in steps while streaming (lengths seen: ${lengths.join(', ')})`);
      assert.ok(final.text.length > 0);
      assert.ok((await chat.locator('.turn').last().locator('.stats').textContent())?.includes('tokens'));
    });

    it('lists references under the answer; clicking one opens the editor at its line', async function () {
      const ranges = chat.locator('.turn').last().locator('.reference-range');
      assert.ok((await ranges.count()) > 0, 'references are listed');
      // A range that starts below line 1, where there is one, so that the cursor position proves something.
      const titles = await ranges.evaluateAll((buttons) => buttons.map((button) => button.getAttribute('title') ?? ''));
      const parsed = titles.map((title) => /^(.+), lines (\d+)-(\d+)/.exec(title));
      assert.ok(parsed.every((match) => match !== null), `reference titles: ${titles.join(' | ')}`);
      const chosen = Math.max(0, parsed.findIndex((match) => match !== null && Number(match[2]) > 1));
      const reference = ranges.nth(chosen);
      const [, file, startLine] = parsed[chosen] as RegExpExecArray;
      await reference.click();
      await workbench.page.locator('.tabs-container .tab.active', { hasText: path.basename(file) }).waitFor({ timeout: 20_000 });
      await workbench.page.locator('[id="status.editor.selection"]', { hasText: `Ln ${startLine},` }).waitFor({ timeout: 10_000 });
      await workbench.screenshot('reference-opened');
      assert.strictEqual(await workbench.activeTabTitle(), path.basename(file));
      assert.strictEqual(await workbench.cursorLine(), Number(startLine));
    });

    it('shows the context map of the answer as ranked bars', async function () {
      await chat.locator('.turn').last().locator('.references-header button', { hasText: 'Context map' }).click();
      const map = await workbench.webviewFrame('#map .file', 30_000);
      const files = map.locator('.file');
      assert.ok((await files.count()) > 0);
      const shares = await map.locator('.file-share').allTextContents();
      const numbers = shares.map((share) => parseFloat(share));
      assert.deepStrictEqual([...numbers].sort((a, b) => b - a), numbers, 'ranked by share');
      await workbench.screenshot('context-map');
    });

    it('renders answer markdown safely; code blocks copy and insert at the cursor', async function () {
      // The tiny random model writes no markdown, so this turn is handed to the panel the way the extension
      // hands it every turn (a message to the webview); the clicks then go through the extension for real.
      await workbench.page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
      await workbench.openFile('inventory/config.py');
      await workbench.goToLine(3);
      const answer = [
        '## Where the threshold lives',
        'It is read in [load_settings](inventory/config.py#L12-L18), **from the environment**, and used by `low_stock`.',
        '<img src=x onerror="document.title=1"><script>document.title=2</script> [a link](javascript:alert(1))',
        '',
        '```python',
        'LOW_STOCK_DEFAULT = 5',
        '```',
      ].join('\n');
      const turn = { id: 'markdown-check', question: 'How is the markdown shown?', answer, status: 'done', references: [] };
      await chat.evaluate(`window.dispatchEvent(new MessageEvent('message', { data: ${JSON.stringify({ type: 'turn', turn })} }))`);
      const rendered = chat.locator('.turn').last().locator('.markdown');
      await rendered.locator('.code-block').waitFor({ timeout: 10_000 });
      assert.strictEqual(await rendered.locator('h4').textContent(), 'Where the threshold lives');
      assert.strictEqual(await rendered.locator('strong').textContent(), 'from the environment');
      assert.strictEqual(await rendered.locator('img, script, a, iframe').count(), 0, 'no element comes from the model');
      assert.match((await rendered.textContent()) ?? '', /<img src=x onerror="document\.title=1"><script>document\.title=2<\/script> a link \(javascript:alert\(1\)/);
      assert.strictEqual(await rendered.locator('.file-link').count(), 1);
      await workbench.screenshot('markdown-rendered');

      await rendered.locator('.code-block .insert').click();
      await workbench.page.locator('.editor-instance .view-lines', { hasText: 'LOW_STOCK_DEFAULT = 5' }).first().waitFor({ timeout: 10_000 });
      await rendered.locator('.code-block .copy').click();
      await rendered.locator('.code-block .copy', { hasText: 'Copied' }).waitFor({ timeout: 5_000 });
      await waitForAsync(async () => (await workbench.page.evaluate('navigator.clipboard.readText()')) === 'LOW_STOCK_DEFAULT = 5', 10_000, 'the clipboard');
      await workbench.screenshot('code-inserted');

      await rendered.locator('.file-link').click();
      await workbench.page.locator('[id="status.editor.selection"]', { hasText: 'Ln 12,' }).waitFor({ timeout: 10_000 });
      assert.strictEqual(await workbench.activeTabTitle(), 'config.py');
      // Leave the file as it was for the tests that follow.
      await workbench.runCommand('File: Revert File');
    });

    it('explains a selection from the editor context menu', async function () {
      await workbench.openFile('inventory/store.py');
      await workbench.goToLine(20);
      for (let i = 0; i < 4; i++) await workbench.page.keyboard.press('Shift+ArrowDown');
      const selected = workbench.page.locator('.editor-instance .monaco-editor .selected-text').first();
      await selected.waitFor({ timeout: 10_000 });
      // The selection layer lies under the text; right-click the text above its middle, as a person would.
      const box = await selected.boundingBox();
      assert.ok(box, 'the selection is on screen');
      await workbench.page.mouse.click(box.x + Math.min(40, box.width / 2), box.y + box.height / 2, { button: 'right' });
      const item = workbench.page.locator('.monaco-menu .action-item', { hasText: 'Explain Selection' }).first();
      await item.waitFor({ timeout: 10_000 });
      await workbench.page.keyboard.press('Escape');
      // The light bulb offers it too.
      await workbench.page.keyboard.press('Control+.');
      const codeAction = workbench.page.locator('.action-widget .monaco-list-row', { hasText: 'Explain selection with SnapKV' }).first();
      await codeAction.waitFor({ timeout: 10_000 });
      await workbench.screenshot('explain-code-action');
      await workbench.page.keyboard.press('Escape');
      await workbench.page.mouse.click(box.x + Math.min(40, box.width / 2), box.y + box.height / 2, { button: 'right' });
      await item.waitFor({ timeout: 10_000 });
      await workbench.screenshot('explain-menu');
      await item.click();
      await chat.locator('.turn').last().locator('.selection-chip', { hasText: 'inventory/store.py:20-23' }).waitFor({ timeout: 20_000 });
      const { final } = await watchAnswer(chat, (turn) => turn.status === 'done' || turn.status === 'error', 180_000);
      await workbench.screenshot('explain-done');
      assert.strictEqual(final.status, 'done', final.text);
      const question = (await chat.locator('.turn').last().locator('.question-text').textContent()) ?? '';
      assert.match(question, /Explain the selected code \(inventory\/store\.py, lines 20-23\)/);
    });

    it('stops an answer with the Stop button', async function () {
      await ask(chat, 'Describe every function of this repository in detail, one by one.');
      await watchAnswer(chat, (turn) => turn.status === 'streaming' && turn.text.length > 20, 120_000);
      await chat.locator('#stop').click();
      const { final } = await watchAnswer(chat, (turn) => turn.status !== 'streaming' && turn.status !== 'waiting', 30_000);
      assert.strictEqual(final.status, 'stopped');
      await chat.locator('.turn').last().locator('.state-line', { hasText: 'Stopped.' }).waitFor();
      const stoppedLength = final.text.length;
      await workbench.page.waitForTimeout(1500);
      assert.strictEqual((await lastTurn(chat)).text.length, stoppedLength, 'no text arrives after Stop');
      assert.ok(await chat.locator('#stop').isHidden(), 'the Stop button goes away');
      await workbench.screenshot('answer-stopped');
    });

    it('asks through the Ask About Workspace command, and stops through the Stop Answer command', async function () {
      // A new chat first: the question's prompt then holds no earlier turns, whose length depends on
      // when earlier answers were stopped, so the answer it gets is the same every run.
      await workbench.runCommand('SnapKV: New Chat');
      await waitForAsync(async () => (await chat.locator('.turn').count()) === 0, 10_000, 'the new chat');
      const turns = await chat.locator('.turn').count();
      await workbench.runCommand('SnapKV: Ask About Workspace');
      const input = workbench.page.locator('.quick-input-widget input.input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('Which settings can the environment override?');
      await workbench.page.keyboard.press('Enter');
      await chat.locator('.turn').nth(turns).waitFor({ timeout: 10_000 });
      await watchAnswer(chat, (turn) => turn.status === 'streaming' && turn.text.length > 20, 120_000);
      await workbench.screenshot('ask-command');
      await workbench.runCommand('SnapKV: Stop Answer');
      const { final } = await watchAnswer(chat, (turn) => turn.status !== 'streaming' && turn.status !== 'waiting', 30_000);
      assert.strictEqual(final.status, 'stopped');
      assert.match((await chat.locator('.turn').last().locator('.question-text').textContent()) ?? '', /environment override/);
    });

    it('applies a new model and budget without reloading the window', async function () {
      const before = compactCacheBytes((await chat.locator('.turn .stats').last().textContent()) ?? '');
      const llama = e2eModel('llama');
      await workbench.setSetting('snapkvCode.snapkv.budget', '32');
      await workbench.screenshot('settings-editor');
      // The model through Select Model: the quick pick, then a GGUF file from the file dialog.
      await workbench.runCommand('SnapKV: Select Model');
      const browse = workbench.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Browse for a GGUF file' }).first();
      await browse.waitFor({ timeout: 20_000 });
      await workbench.screenshot('select-model');
      await browse.click();
      const pathInput = workbench.page.locator('.quick-input-widget input.input');
      await pathInput.waitFor({ state: 'visible', timeout: 20_000 });
      // The file dialog fills in its starting folder once it has read it; type the path after that.
      await waitForAsync(async () => (await pathInput.inputValue()).endsWith('/'), 20_000, 'the file dialog to show its folder');
      await pathInput.fill(llama);
      await workbench.page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(llama) }).first().waitFor({ timeout: 20_000 });
      await workbench.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click();
      await waitFor(() => /Settings changed[\s\S]*loaded llama model/.test(readLogs(server).ours), 60_000, 'the server to load the new model');
      await workbench.waitForStatus(/SnapKV [\d.]+k? tokens/, 60_000);
      await ask(chat, 'Where are items sold?');
      await watchAnswer(chat, (turn) => turn.status === 'streaming' && turn.text.length > 20, 120_000);
      await workbench.runCommand('SnapKV: Stop Answer');
      await watchAnswer(chat, (turn) => turn.status === 'stopped' || turn.status === 'done', 30_000);
      await chat.locator('.turn').last().locator('.stats').waitFor({ timeout: 10_000 });
      const after = compactCacheBytes((await chat.locator('.turn').last().locator('.stats').textContent()) ?? '');
      assert.ok(after < before, `a smaller budget gives a smaller compact cache (${before} -> ${after} bytes)`);
      await workbench.runCommand('SnapKV: Show Status');
      await workbench.page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(llama) }).first().waitFor({ timeout: 20_000 });
      await workbench.screenshot('settings-applied');
      await workbench.page.keyboard.press('Escape');
    });

    it('restarts the server after a crash, and after too many crashes stops and offers a restart', async function () {
      const ourLog = (): string => readLogs(server).ours;
      const notification = (text: string) =>
        workbench.page.locator('.notifications-toasts .notification-list-item-message', { hasText: text }).first();

      // One crash: restarted, re-indexed, and answering again.
      const indexedBefore = (ourLog().match(/\] Indexed /g) ?? []).length;
      let pid = await waitForServerPid(server, undefined);
      process.kill(pid, 'SIGKILL');
      await notification('stopped unexpectedly and was restarted (1 of 3)').waitFor({ timeout: 30_000 });
      pid = await waitForServerPid(server, pid);
      await waitFor(() => (ourLog().match(/\] Indexed /g) ?? []).length > indexedBefore, 60_000, 'the index is rebuilt after the restart');
      await workbench.screenshot('crash-restarted');
      await ask(chat, 'What does report.py print?');
      const { final } = await watchAnswer(chat, (turn) => turn.status === 'done' || turn.status === 'error', 180_000);
      assert.strictEqual(final.status, 'done', final.text);

      // Three more crashes within the window: the fourth is not restarted.
      for (let crash = 2; crash <= 4; crash++) {
        process.kill(pid, 'SIGKILL');
        if (crash < 4) {
          await waitFor(() => ourLog().includes(`restarting it (${crash} of 3 `), 30_000, `restart ${crash}`);
          pid = await waitForServerPid(server, pid);
        }
      }
      await waitFor(() => ourLog().includes('it was not restarted'), 30_000, 'the server to be given up');
      await chat.locator('#notice button', { hasText: 'Restart Server' }).waitFor({ timeout: 20_000 });
      // Toasts pile up (three restarts, then this); the notification centre keeps them all.
      await workbench.runCommand('Notifications: Show Notifications');
      await workbench.page.locator('.notifications-center .notification-list-item-message', { hasText: 'was not restarted again' }).first().waitFor({ timeout: 10_000 });
      await workbench.waitForStatus(/SnapKV/, 5_000);
      assert.deepStrictEqual(server.languageServerPids(), []);
      await workbench.screenshot('crash-gave-up');

      // The user restarts it from the panel.
      await chat.locator('#notice button', { hasText: 'Restart Server' }).click();
      await waitForServerPid(server, pid);
      await workbench.waitForStatus(/SnapKV [\d.]+k? tokens/, 60_000);
      await chat.locator('#notice').waitFor({ state: 'hidden', timeout: 20_000 });
      await workbench.screenshot('crash-restarted-by-hand');
    });
  });

  describe('in an untrusted workspace', function () {
    let server: CodeServer;
    let workbench: Workbench;
    let cacheDir: string;

    before(async function () {
      const workspace = copyWorkspace('untrusted');
      cacheDir = path.join(E2E_DIR, 'run', 'untrusted-cache');
      fs.rmSync(cacheDir, { recursive: true, force: true });
      server = await CodeServer.start({
        name: 'untrusted',
        vsix: VSIX,
        machineSettings: machineSettings(model, cacheDir),
        settings: {
          ...baseSettings(),
          'security.workspace.trust.enabled': true,
          'security.workspace.trust.startupPrompt': 'never',
          'security.workspace.trust.banner': 'always',
        },
      });
      browser = await launchChromium();
      workbench = await Workbench.open(browser, server.url(workspace), screenshotsDir(), 'untrusted');
    });

    after(async function () {
      await browser?.close();
      await server?.stop();
    });

    it('indexes nothing and says why', async function () {
      await workbench.openSnapKvContainer();
      const chat = await workbench.webviewFrame('#composer', 60_000);
      await workbench.waitForStatus(/SnapKV: untrusted/, 60_000);
      await chat.locator('#notice', { hasText: 'not trusted' }).waitFor({ timeout: 20_000 });
      await ask(chat, 'What does this repository do?');
      const { final } = await watchAnswer(chat, (turn) => turn.status === 'error' || turn.status === 'done', 30_000);
      await workbench.page.waitForTimeout(2000);
      await workbench.screenshot('nothing-indexed');
      assert.strictEqual(final.status, 'error');
      assert.match((await chat.locator('.turn').last().locator('.state-line').textContent()) ?? '', /not trusted/);
      const logs = readLogs(server);
      assert.match(logs.ours, /not trusted: nothing is indexed/);
      assert.doesNotMatch(logs.ours, /\] Indexed |loading model|\] indexed /);
      assert.ok(!fs.existsSync(cacheDir) || fs.readdirSync(cacheDir).length === 0, 'no cache was written');
    });

    it('indexes once the user trusts the workspace', async function () {
      const chat = await workbench.webviewFrame('#composer');
      await chat.locator('#notice button', { hasText: 'Manage Workspace Trust' }).click();
      const trust = workbench.page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first();
      await trust.waitFor({ timeout: 20_000 });
      await workbench.screenshot('trust-editor');
      await trust.click();
      await workbench.waitForStatus(/SnapKV [\d.]+k? tokens/, 120_000);
      await workbench.screenshot('trusted-then-indexed');
      assert.match(readLogs(server).ours, /Workspace trusted: starting the server and indexing\.[\s\S]*Indexed .*: [1-9]\d* files/);
    });
  });
});
