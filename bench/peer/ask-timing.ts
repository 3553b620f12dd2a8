// What a user waits for: `snapkv-code ask <folder> "<question>"` on a model
// file, as a child process with a fresh cache folder (so the folder is
// prefilled), timed from outside and read from its --json report. Started
// with node, as `npm link` or the editor start it: npx would add its own
// install and node_modules walk (README, "Ask a question").
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nowMs } from '../measure';
import { PeerModelFile } from './model-files';

export interface AskTiming {
  model: string;
  folder: string;
  question: string;
  wallMs: number;
  files: number;
  tokens: number;
  /** The index step: pack, tokenize, prefill, save. */
  indexMs: number;
  prefillTokensPerSecond: number;
  compressMs: number;
  firstTokenMs: number;
  decodeMsPerToken: number;
  answerTokens: number;
  /** Process start, model load, tokenizer, everything not in the index or the answer. */
  otherMs: number;
  /** --verbose lines with their time since the start, for what `otherMs` holds. */
  log: Array<{ ms: number; line: string }>;
}

interface AskJson {
  index: { files: number; tokens: number; prefilledTokens: number; seconds: number };
  answer: { tokens: number; timings: { compressMs: number; firstTokenMs: number; decodeMsPerToken: number } };
}

export async function timeAsk(
  repoRoot: string,
  file: PeerModelFile,
  folder: string,
  question: string,
  maxTokens: number,
  log: (line: string) => void,
): Promise<AskTiming> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-peer-ask-'));
  const args = [path.join(repoRoot, 'bin', 'snapkv-code.js'), 'ask', folder, question, '--model', file.path, '--backend', 'cpu', '--json', '--verbose'];
  args.push('--cache-dir', cacheDir, '--max-tokens', String(maxTokens), '--temperature', '0');
  log(`ask: node ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  const lines: Array<{ ms: number; line: string }> = [];
  const started = nowMs();
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let partial = '';
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        const text = partial + chunk.toString('utf8');
        const parts = text.split(/\r?\n/);
        partial = parts.pop() ?? '';
        for (const line of parts) {
          if (!line.trim()) continue;
          lines.push({ ms: nowMs() - started, line });
          log(`  ask +${((nowMs() - started) / 1000).toFixed(1)} s: ${line}`);
        }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
        else reject(new Error(`snapkv-code ask exited with ${code}: ${lines.slice(-5).map((l) => l.line).join(' / ')}`));
      });
    });
    const wallMs = nowMs() - started;
    const report = JSON.parse(stdout) as AskJson;
    const t = report.answer.timings;
    const answerMs = t.firstTokenMs + t.decodeMsPerToken * Math.max(0, report.answer.tokens - 1);
    const indexMs = report.index.seconds * 1000;
    return {
      model: file.path,
      folder,
      question,
      wallMs,
      files: report.index.files,
      tokens: report.index.tokens,
      indexMs,
      prefillTokensPerSecond: report.index.prefilledTokens / report.index.seconds,
      compressMs: t.compressMs,
      firstTokenMs: t.firstTokenMs,
      decodeMsPerToken: t.decodeMsPerToken,
      answerTokens: report.answer.tokens,
      otherMs: wallMs - indexMs - answerMs,
      log: lines,
    };
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}
