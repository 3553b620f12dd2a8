// Runs bench/gpu/torch_bench.py (the PyTorch + transformers baseline) as a
// child process and reads its JSON. A missing python, torch or transformers
// is a skip with the reason, not a failure of the whole benchmark; a run cut
// short by its time limit still yields the rows it finished (the script
// rewrites its output file after every row).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../native-tools';
import { TorchOutcome, TorchReport } from './results';

export interface TorchRunOptions {
  python: string;
  device: 'cuda' | 'cpu';
  shapes: readonly string[];
  prefillLengths: readonly number[];
  decodeLengths: readonly number[];
  ttftPrefix: number;
  question: number;
  decodeSteps: number;
  repeats: number;
  quick: boolean;
  timeoutMs: number;
  log: (line: string) => void;
}

export function torchScript(): string {
  return path.join(repoRoot(), 'bench', 'gpu', 'torch_bench.py');
}

/** The script's options (the script path and --out excluded). */
export function torchArguments(options: TorchRunOptions): string[] {
  const args = ['--device', options.device, '--shapes', options.shapes.join(',')];
  args.push('--prefill-lengths', options.prefillLengths.join(','), '--decode-lengths', options.decodeLengths.join(','));
  args.push('--ttft-prefix', String(options.ttftPrefix), '--question', String(options.question));
  args.push('--decode-steps', String(options.decodeSteps), '--repeats', String(options.repeats));
  if (options.quick) args.push('--quick');
  return args;
}

function readReport(file: string): TorchReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TorchReport;
  } catch {
    return undefined;
  }
}

export async function runTorchBench(options: TorchRunOptions): Promise<TorchOutcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapkv-torch-'));
  const outFile = path.join(dir, 'torch.json');
  const scriptOptions = torchArguments(options);
  const args = [torchScript(), ...scriptOptions, '--out', outFile];
  const command = [options.python, 'bench/gpu/torch_bench.py', ...scriptOptions].join(' ');
  try {
    const run = await new Promise<{ code: number | null; error?: Error; timedOut: boolean; stderrTail: string }>((resolve) => {
      const child = spawn(options.python, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
      let stderrTail = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
      }, options.timeoutMs);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderrTail = (stderrTail + text).slice(-4000);
        for (const line of text.split('\n')) if (line.trim()) options.log(line.replace(/^\[torch-bench\] /, ''));
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        resolve({ code: null, error, timedOut, stderrTail });
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, timedOut, stderrTail });
      });
    });
    const report = readReport(outFile);
    if (run.error) return { status: 'skipped', reason: `${options.python} could not be started: ${run.error.message}`, command };
    if (run.timedOut) return { status: 'failed', reason: `stopped after its time limit of ${Math.round(options.timeoutMs / 1000)} s (rows finished before are kept)`, report, command };
    if (run.code !== 0 || !report) {
      const last = run.stderrTail.trim().split('\n').slice(-3).join(' | ');
      return { status: 'failed', reason: `exited with ${run.code}: ${last || 'no output'}`, report, command };
    }
    if (report.skipped) return { status: 'skipped', reason: report.skipped, report, command };
    return { status: 'ok', report, command };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
