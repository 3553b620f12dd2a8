// Runs the training scripts' Python where this machine has it. PyTorch is on the GPU machine
// only (and wherever someone installed it); tests that need it skip, saying so, without it.
import { spawnSync } from 'child_process';
import * as path from 'path';

export const TRAINING_DIR = path.resolve(__dirname, '..', '..', 'training');

const available = new Map<string, boolean>();

/** Whether `python3 -c "import <module>"` works here. */
export function pythonHas(module: string): boolean {
  let ok = available.get(module);
  if (ok === undefined) {
    ok = spawnSync('python3', ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 }).status === 0;
    available.set(module, ok);
  }
  return ok;
}

/** Runs python3 with the training folder on its path; throws with its output when it fails. */
export function runPython(args: readonly string[], input?: string): string {
  const result = spawnSync('python3', args, {
    cwd: TRAINING_DIR,
    input,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PYTHONPATH: TRAINING_DIR, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (result.status !== 0) throw new Error(`python3 ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}
