// Driving the VS Code workbench in Chromium with playwright-core: commands, the status bar, editors, webviews.
import * as fs from 'fs';
import * as path from 'path';
import { Browser, chromium, Frame, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium as this machine needs it: headless, no sandbox as root, no background connections to the internet. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export class Workbench {
  private shots = 0;

  private constructor(
    readonly page: Page,
    private readonly screenshotDir: string,
    private readonly prefix: string,
  ) {}

  static async open(browser: Browser, url: string, screenshotDir: string, prefix: string): Promise<Workbench> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const consoleLog = path.join(screenshotDir, `${prefix}-browser-console.log`);
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') {
        fs.appendFileSync(consoleLog, `[${new Date().toISOString()}] ${message.type()}: ${message.text()}\n`);
      }
    });
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.locator('.statusbar').waitFor({ timeout: 60_000 });
    return new Workbench(page, screenshotDir, prefix);
  }

  /** Saves `<prefix>-<n>-<name>.png` and returns its path. */
  async screenshot(name: string): Promise<string> {
    this.shots++;
    const file = path.join(this.screenshotDir, `${this.prefix}-${String(this.shots).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Runs a command by its title through the command palette. */
  async runCommand(title: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ timeout: 10_000 });
    await row.click();
  }

  /** Opens a workspace file with Quick Open. */
  async openFile(relativePath: string): Promise<void> {
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(relativePath);
    // Enter only once the list shows the file: before that it holds recently opened ones.
    const row = this.page.locator('.quick-input-list .monaco-list-row').first().filter({ hasText: path.basename(relativePath) });
    await row.waitFor({ timeout: 10_000 });
    await this.page.keyboard.press('Enter');
    await this.page.locator('.tabs-container .tab.active', { hasText: path.basename(relativePath) }).waitFor({ timeout: 10_000 });
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
  }

  /** Puts the cursor on a line of the active editor (Go to Line). */
  async goToLine(line: number): Promise<void> {
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`:${line}`);
    await this.page.keyboard.press('Enter');
    await this.page.locator('[id="status.editor.selection"]', { hasText: `Ln ${line},` }).waitFor({ timeout: 10_000 });
  }

  /** The status bar item whose text matches, once it does. */
  async waitForStatus(pattern: RegExp, timeoutMs: number): Promise<string> {
    const item = this.page.locator('.statusbar-item', { hasText: pattern }).first();
    await item.waitFor({ timeout: timeoutMs });
    return (await item.textContent()) ?? '';
  }

  /** Text of our status bar item. */
  async snapkvStatus(): Promise<string> {
    return (await this.page.locator('.statusbar-item', { hasText: /SnapKV/ }).first().textContent()) ?? '';
  }

  /** "Ln 12, Col 1" of the active editor. */
  async cursorLine(): Promise<number> {
    const text = (await this.page.locator('[id="status.editor.selection"]').textContent()) ?? '';
    const match = /Ln (\d+)/.exec(text);
    if (!match) throw new Error(`No cursor position in the status bar: ${text}`);
    return Number(match[1]);
  }

  async activeTabTitle(): Promise<string> {
    return ((await this.page.locator('.tabs-container .tab.active .label-name').first().textContent()) ?? '').trim();
  }

  /** The webview frame that holds `selector` (VS Code nests each webview in two iframes). */
  async webviewFrame(selector: string, timeoutMs = 30_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) continue;
        try {
          if ((await frame.locator(selector).count()) > 0) return frame;
        } catch {
          // A frame that navigated away while we looked.
        }
      }
      await this.page.waitForTimeout(250);
    }
    throw new Error(`No webview with ${selector} appeared within ${timeoutMs} ms.`);
  }

  /** Changes a setting the way a person does: in the Settings editor, found by its id. */
  async setSetting(key: string, value: string): Promise<void> {
    if ((await this.page.locator('.settings-editor').count()) === 0) {
      await this.runCommand('Preferences: Open User Settings');
      await this.page.locator('.settings-editor').waitFor({ timeout: 20_000 });
    }
    const search = this.page.locator('.settings-editor .settings-header .suggest-input-container .monaco-editor').first();
    await search.click();
    await this.page.keyboard.press('Control+A');
    await this.page.keyboard.type(key);
    const input = this.page.locator(`.settings-editor input[aria-label="${key}"]`);
    await input.waitFor({ timeout: 20_000 });
    await input.fill(value);
    await input.press('Tab');
  }

  /** Opens the SnapKV container from the activity bar. */
  async openSnapKvContainer(): Promise<void> {
    const item = this.page.locator('.activitybar .action-item a[aria-label^="SnapKV Code"], .activitybar .action-item[aria-label^="SnapKV Code"]').first();
    await item.waitFor({ timeout: 30_000 });
    await item.click();
  }
}
