// GGUF models already on this machine: the ones Ollama and LM Studio downloaded.
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface LocalModel {
  path: string;
  /** How the tool names it: "qwen2.5-coder:7b" for Ollama, the file name for LM Studio. */
  name: string;
  source: 'Ollama' | 'LM Studio';
  bytes: number;
}

interface OllamaManifest {
  layers?: Array<{ mediaType?: string; digest?: string; size?: number }>;
}

const OLLAMA_MODEL_LAYER = 'application/vnd.ollama.image.model';
const GGUF_MAGIC = 'GGUF';
/** LM Studio keeps models as <publisher>/<repository>/<file>.gguf; a little deeper is tolerated. */
const LM_STUDIO_MAX_DEPTH = 4;

export async function findLocalModels(home = os.homedir(), env: NodeJS.ProcessEnv = process.env): Promise<LocalModel[]> {
  const ollamaRoots = unique([env.OLLAMA_MODELS, path.join(home, '.ollama', 'models'), '/usr/share/ollama/.ollama/models']);
  const lmStudioRoots = unique([path.join(home, '.lmstudio', 'models'), path.join(home, '.cache', 'lm-studio', 'models')]);
  const found = await Promise.all([
    ...ollamaRoots.map((root) => findOllamaModels(root)),
    ...lmStudioRoots.map((root) => findLmStudioModels(root)),
  ]);
  const byPath = new Map<string, LocalModel>();
  for (const model of found.flat()) if (!byPath.has(model.path)) byPath.set(model.path, model);
  return [...byPath.values()].sort((a, b) => a.source.localeCompare(b.source) || a.name.localeCompare(b.name));
}

/** Ollama: manifests/<registry>/<namespace>/<model>/<tag> name a blob (blobs/sha256-<hex>) that is a GGUF file. */
export async function findOllamaModels(root: string): Promise<LocalModel[]> {
  const manifestsRoot = path.join(root, 'manifests');
  const manifests = await listFiles(manifestsRoot, 4);
  const models: LocalModel[] = [];
  for (const manifestPath of manifests) {
    const manifest = await readJson<OllamaManifest>(manifestPath);
    const layer = manifest?.layers?.find((candidate) => candidate.mediaType === OLLAMA_MODEL_LAYER);
    if (layer?.digest === undefined || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) continue;
    const blob = path.join(root, 'blobs', layer.digest.replace(':', '-'));
    if (!(await isGguf(blob))) continue;
    const [, namespace, model, tag] = path.relative(manifestsRoot, manifestPath).split(path.sep);
    const name = `${namespace === 'library' ? '' : `${namespace}/`}${model}:${tag}`;
    models.push({ path: blob, name, source: 'Ollama', bytes: layer.size ?? (await sizeOf(blob)) });
  }
  return models;
}

/** LM Studio: plain .gguf files under its models folder (vision projectors, mmproj-*.gguf, are not language models). */
export async function findLmStudioModels(root: string): Promise<LocalModel[]> {
  const files = await listFiles(root, LM_STUDIO_MAX_DEPTH);
  const models: LocalModel[] = [];
  for (const file of files) {
    const base = path.basename(file);
    if (!base.toLowerCase().endsWith('.gguf') || base.toLowerCase().includes('mmproj')) continue;
    models.push({ path: file, name: path.relative(root, file).split(path.sep).join('/'), source: 'LM Studio', bytes: await sizeOf(file) });
  }
  return models;
}

async function listFiles(root: string, maxDepth: number): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && depth < maxDepth) await walk(full, depth + 1);
      else if (entry.isFile() || entry.isSymbolicLink()) files.push(full);
    }
  };
  await walk(root, 1);
  return files;
}

async function isGguf(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(file, 'r');
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    return bytesRead === 4 && magic.toString('latin1') === GGUF_MAGIC;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

function unique(paths: Array<string | undefined>): string[] {
  return [...new Set(paths.filter((value): value is string => typeof value === 'string' && value.length > 0))];
}
