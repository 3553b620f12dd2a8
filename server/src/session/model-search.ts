// Finds GGUF models where local LLM tools keep them, so users can reuse what
// they already downloaded: Ollama's blob store and LM Studio's model folders.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface FoundModel {
  path: string;
  /** A name people recognise: "qwen2.5-coder:1.5b" or "Qwen/Qwen2.5-Coder-1.5B-GGUF/…q8_0.gguf". */
  name: string;
  source: 'ollama' | 'lm-studio';
  bytes: number;
}

export interface SearchRoots {
  ollama: string[];
  lmStudio: string[];
}

export function defaultSearchRoots(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): SearchRoots {
  const ollama = env.OLLAMA_MODELS ? [env.OLLAMA_MODELS] : [path.join(home, '.ollama', 'models'), '/usr/share/ollama/.ollama/models'];
  const lmStudio = [path.join(home, '.lmstudio', 'models'), path.join(home, '.cache', 'lm-studio', 'models')];
  return { ollama, lmStudio };
}

const GGUF_MAGIC = Buffer.from('GGUF', 'ascii');

function isGguf(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(4);
      return fs.readSync(fd, head, 0, 4, 0) === 4 && head.equals(GGUF_MAGIC);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

function listFilesRecursive(dir: string, depth: number): string[] {
  if (depth < 0) return [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFilesRecursive(full, depth - 1));
    else if (entry.isFile() || entry.isSymbolicLink()) files.push(full);
  }
  return files;
}

interface OllamaManifest {
  layers?: Array<{ mediaType?: string; digest?: string }>;
}

/** Ollama keeps manifests/<registry>/<namespace>/<model>/<tag>; the model layer names a blob. */
function ollamaModels(root: string): FoundModel[] {
  const manifests = path.join(root, 'manifests');
  const found: FoundModel[] = [];
  for (const manifestPath of listFilesRecursive(manifests, 4)) {
    let manifest: OllamaManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as OllamaManifest;
    } catch {
      continue;
    }
    const layer = manifest.layers?.find((l) => l.mediaType === 'application/vnd.ollama.image.model');
    if (!layer?.digest) continue;
    const blob = path.join(root, 'blobs', layer.digest.replace(':', '-'));
    if (!isGguf(blob)) continue;
    const parts = path.relative(manifests, manifestPath).split(path.sep);
    const tag = parts[parts.length - 1];
    const model = parts[parts.length - 2];
    const namespace = parts[parts.length - 3];
    const name = namespace && namespace !== 'library' ? `${namespace}/${model}:${tag}` : `${model}:${tag}`;
    found.push({ path: blob, name, source: 'ollama', bytes: fs.statSync(blob).size });
  }
  return found;
}

function lmStudioModels(root: string): FoundModel[] {
  return listFilesRecursive(root, 3)
    .filter((file) => file.toLowerCase().endsWith('.gguf') && !path.basename(file).toLowerCase().startsWith('mmproj') && isGguf(file))
    .map((file) => ({ path: file, name: path.relative(root, file).split(path.sep).join('/'), source: 'lm-studio' as const, bytes: fs.statSync(file).size }));
}

/** Every GGUF model found, Ollama's first, each list sorted by name; duplicates (same file) once. */
export function findLocalModels(roots: SearchRoots = defaultSearchRoots()): FoundModel[] {
  const seen = new Set<string>();
  const all = [
    ...roots.ollama.flatMap((root) => ollamaModels(root).sort((a, b) => a.name.localeCompare(b.name))),
    ...roots.lmStudio.flatMap((root) => lmStudioModels(root).sort((a, b) => a.name.localeCompare(b.name))),
  ];
  return all.filter((model) => {
    const real = fs.realpathSync(model.path);
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

/** A line for users who have no model yet. */
export function howToGetAModel(roots: SearchRoots = defaultSearchRoots()): string {
  return (
    'No GGUF model was found. Pass one with --model <file.gguf> (setting snapkvCode.modelPath in VS Code), ' +
    `or download one with Ollama (\`ollama pull qwen2.5-coder:1.5b\`, looked for in ${roots.ollama.join(', ')}) ` +
    `or LM Studio (looked for in ${roots.lmStudio.join(', ')}). Architectures llama (Llama 3.x, Mistral), qwen2 (Qwen2.5-Coder) and qwen3 run; \`snapkv-code models\` says which files run here and why not.`
  );
}
