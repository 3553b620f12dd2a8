// Runs a program (a native tool, a script) to its end and keeps its exit
// code and output, so a test can assert on a failing run as well.
import { execFile } from 'child_process';
import * as path from 'path';
import { repoRoot } from '../../bench/native-tools';

export interface ProgramRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs: number;
  maxBufferBytes?: number;
}

/** A file of the native build (build/native/NAME). */
export function nativeBuildFile(name: string): string {
  return path.join(repoRoot(), 'build', 'native', process.platform === 'win32' ? `${name}.exe` : name);
}

/** Resolves with the exit code and output; rejects only when the program could not run at all. */
export function runProgram(file: string, args: readonly string[], options: RunOptions): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs, maxBuffer: options.maxBufferBytes ?? 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}
