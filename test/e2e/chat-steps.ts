// The steps the end-to-end scenarios share: their settings, asking in the chat panel and watching the answer
// settle, waiting on the language server's process, and reading the logs VS Code wrote.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame } from 'playwright-core';
import { CodeServer, REPO_ROOT } from './code-server';

export const VSIX = path.join(REPO_ROOT, 'snapkv-code-0.1.0.vsix');
/** Long enough that an answer is still streaming when the test presses Stop. */
export const MAX_ANSWER_TOKENS = 1200;

export function machineSettings(model: string, cacheDir: string): Record<string, unknown> {
  return { 'snapkvCode.modelPath': model, 'snapkvCode.cacheDir': cacheDir };
}

export function baseSettings(): Record<string, unknown> {
  return {
    'snapkvCode.maxAnswerTokens': MAX_ANSWER_TOKENS,
    // A budget well under the workspace's size, so that SnapKV really chooses what to keep.
    'snapkvCode.snapkv.budget': 96,
    'snapkvCode.snapkv.window': 16,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'git.openRepositoryInParentFolders': 'never',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
  };
}

export interface TurnSnapshot {
  status: string;
  text: string;
}

export async function lastTurn(chat: Frame): Promise<TurnSnapshot> {
  const turn = chat.locator('.turn').last();
  return {
    status: (await turn.getAttribute('data-status')) ?? '',
    text: (await turn.locator('.answer .markdown').textContent()) ?? '',
  };
}

/** Polls the last turn until it settles; returns the lengths of the answer seen while it was streaming. */
export async function watchAnswer(chat: Frame, until: (turn: TurnSnapshot) => boolean, timeoutMs: number): Promise<{ final: TurnSnapshot; partialLengths: number[] }> {
  const deadline = Date.now() + timeoutMs;
  const partialLengths: number[] = [];
  for (;;) {
    const turn = await lastTurn(chat);
    if (turn.status === 'streaming' && turn.text.length > 0 && partialLengths[partialLengths.length - 1] !== turn.text.length) {
      partialLengths.push(turn.text.length);
    }
    if (until(turn)) return { final: turn, partialLengths };
    if (Date.now() > deadline) throw new Error(`The answer did not settle within ${timeoutMs} ms (status ${turn.status}).`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function ask(chat: Frame, question: string): Promise<void> {
  const turns = await chat.locator('.turn').count();
  const input = chat.locator('#question');
  // Typing goes where the focus is; the workbench may still be handing focus back (a dialog just closed), so check
  // the text landed in the question box before sending it, as a person would.
  for (let attempt = 0; attempt < 5 && (await input.inputValue()) !== question; attempt++) {
    await input.click();
    await input.fill(question);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.strictEqual(await input.inputValue(), question, 'the question was typed into the panel');
  await input.press('Enter');
  try {
    await chat.locator('.turn').nth(turns).waitFor({ timeout: 10_000 });
  } catch (error) {
    const left = await chat.locator('#question').inputValue().catch((reason: unknown) => `unreadable: ${String(reason)}`);
    const busy = await chat.locator('#stop').isVisible().catch(() => 'unknown');
    throw new Error(`The question did not appear in the panel (input now: ${JSON.stringify(left)}, stop visible: ${busy}, turns: ${turns}): ${String(error)}`);
  }
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The language server's process id, once there is exactly one and it is not `previous`. */
export async function waitForServerPid(server: CodeServer, previous: number | undefined): Promise<number> {
  let pids: number[] = [];
  await waitFor(() => {
    pids = server.languageServerPids();
    return pids.length === 1 && pids[0] !== previous;
  }, 60_000, 'the language server process');
  return pids[0];
}

export function readLogs(server: CodeServer): { ours: string; extensionHost: string } {
  const files = server.logFiles();
  const read = (match: (file: string) => boolean): string => files.filter(match).map((file) => fs.readFileSync(file, 'utf8')).join('\n');
  return {
    ours: read((file) => path.basename(file) === 'SnapKV Code.log'),
    extensionHost: read((file) => path.basename(file) === 'remoteexthost.log'),
  };
}
