// The benchmark's GGUF files, written by build/native/snapkv-write-model (no
// Node needed on the GPU machine for that) and reused by name afterwards.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { WeightType } from '../bench-model';
import { repoRoot } from '../native-tools';
import { ModelFileInfo } from './results';
import { SHAPES, ShapeName } from './shapes';

export const WRITER_SEED = 1;

/** The writer tool: $SNAPKV_WRITE_MODEL, else the build's. */
export function writerTool(): string {
  const file = process.env.SNAPKV_WRITE_MODEL ?? path.join(repoRoot(), 'build', 'native', 'snapkv-write-model');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: build it with \`npm run build:native\` (or \`cmake --build build --target snapkv-write-model\`)`);
  }
  return file;
}

export function modelFileName(shape: ShapeName, type: WeightType, seed = WRITER_SEED): string {
  return `${shape}-${type}-ctx${SHAPES[shape].contextLength}-s${seed}.gguf`;
}

/** Runs the writer; its progress lines (stderr) go to `log`. */
export function writeShapeModel(shape: ShapeName, type: WeightType, file: string, seed = WRITER_SEED, log: (line: string) => void = () => undefined): Promise<void> {
  const args = ['--shape', shape, '--type', type, '--out', file, '--seed', String(seed)];
  return new Promise((resolve, reject) => {
    const child = spawn(writerTool(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
      for (const line of text.split('\n')) if (line.trim()) log(line.trim());
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`snapkv-write-model ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}

/** The file of a shape and type in `dir`, written unless an earlier run left it there. */
export async function ensureShapeModel(shape: ShapeName, type: WeightType, dir: string, log: (line: string) => void): Promise<ModelFileInfo> {
  const file = path.join(dir, modelFileName(shape, type));
  if (fs.existsSync(file)) return { path: file, bytes: fs.statSync(file).size, written: false, writeSeconds: 0 };
  fs.mkdirSync(dir, { recursive: true });
  log(`writing ${path.basename(file)}`);
  const started = performance.now();
  await writeShapeModel(shape, type, file, WRITER_SEED, log);
  return { path: file, bytes: fs.statSync(file).size, written: true, writeSeconds: (performance.now() - started) / 1000 };
}
