// The small demonstration model that ships with the project (issue 8), used
// when no model is configured and none is found locally.
import * as fs from 'fs';
import * as path from 'path';

export const DEMO_MODEL_FILE = 'snapkv-demo.gguf';

/** What users are told when the demonstration model answers. */
export const DEMO_MODEL_NOTE =
  'a small demonstration model for where-is and what-is questions (where a function is defined, what a constant is set to, which file imports a module); set a real model for anything else';

/** The bundled model's path, or undefined when this build carries none. */
export function demoModelPath(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'models', DEMO_MODEL_FILE);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}
