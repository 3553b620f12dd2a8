// The server's settings: what clients send, filled with defaults and checked
// once, so the rest of the server reads plain numbers.
import * as os from 'os';
import * as path from 'path';
import { KV_TYPES } from '../engine';
import type { KvType, RopeScalingRequest } from '../engine';
import { ServerSettings } from '../protocol';
import { RemoteSettings, resolveRemoteSettings } from '../remote/remote-settings';

export interface ResolvedSnapKv {
  window: number;
  budget: number;
  kernel: number;
  pooling: 'max' | 'avg';
}

export interface ResolvedSettings {
  modelPath: string | undefined;
  backend: 'auto' | 'cuda' | 'cpu';
  /** 0: the engine's default (free GPU memory at load, less 5%). */
  gpuMemoryBytes: number;
  prefixInHostMemory: boolean;
  /** Host memory for the repository's prompt cache; 0: what the system has available (answer-mode.ts). */
  hostMemoryBytes: number;
  /** Exact f32 CPU matrix products instead of the fast int8 ones. */
  exact: boolean;
  /** Empty: the file's RoPE scaling. */
  rope: RopeScalingRequest;
  /** Undefined: the engine's default (f16). */
  kvType: KvType | undefined;
  /** 0: one per hardware thread. */
  threads: number;
  snapkv: ResolvedSnapKv;
  /** Undefined: the model's context length minus room for the question and answer. */
  maxContextTokens: number | undefined;
  include: string[];
  exclude: string[];
  /** Globs of files packed although they hold a secret. */
  includeSecrets: string[];
  cacheDir: string;
  compactMemoryLimit: number;
  maxAnswerTokens: number;
  /** An OpenAI-compatible endpoint that answers instead of the local engine. */
  remote: RemoteSettings | undefined;
}

/**
 * SnapKV's defaults (DESIGN.md section 3), written once: the CLI's help reads them; package.json's setting
 * defaults and the engine's own (snapkv_params.h) are held to them by test/snapkv-defaults.test.ts.
 */
export const DEFAULT_SNAPKV: ResolvedSnapKv = { window: 32, budget: 2048, kernel: 7, pooling: 'max' };
const GIB = 1024 ** 3;

/** Where saved prefix caches live when the client does not say: the platform's per-user cache folder. */
export function defaultCacheDir(): string {
  if (process.env.SNAPKV_CACHE_DIR) return process.env.SNAPKV_CACHE_DIR;
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'snapkv-code');
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'snapkv-code', 'Cache');
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'snapkv-code');
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

function positiveInteger(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new SettingsError(`setting ${name} must be a positive whole number, not ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SettingsError(`setting ${name} must be a string, not ${JSON.stringify(value)}`);
  return value;
}

function globs(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((g) => typeof g !== 'string')) {
    throw new SettingsError(`setting ${name} must be a list of glob patterns`);
  }
  return value.filter((g) => g.trim() !== '');
}

/** Default factor when RoPE scaling is asked for without one: Qwen's YaRN recommendation, 32K -> 128K. */
export const DEFAULT_ROPE_SCALE = 4;

function resolveRope(given: ServerSettings, base: RopeScalingRequest | undefined): RopeScalingRequest {
  if (given.ropeScaling === undefined && given.ropeScale === undefined) return base ?? {};
  const kind = given.ropeScaling ?? base?.ropeScaling ?? 'file';
  if (kind !== 'file' && kind !== 'none' && kind !== 'linear' && kind !== 'yarn') {
    throw new SettingsError(`setting ropeScaling must be 'file', 'none', 'linear' or 'yarn', not ${JSON.stringify(kind)}`);
  }
  const scale = given.ropeScale ?? base?.ropeScale ?? DEFAULT_ROPE_SCALE;
  if (typeof scale !== 'number' || !(scale >= 1 && scale <= 1024)) {
    throw new SettingsError(`setting ropeScale must be a number from 1 to 1024, not ${JSON.stringify(given.ropeScale)}`);
  }
  if (kind === 'file') return {};
  return kind === 'none' ? { ropeScaling: 'none' } : { ropeScaling: kind, ropeScale: scale };
}

/** Checks a client's settings and fills in defaults. Throws SettingsError naming the bad setting. */
export function resolveSettings(input: ServerSettings | undefined, base?: ResolvedSettings): ResolvedSettings {
  const given: ServerSettings = input ?? {};
  const snapkvIn = given.snapkv ?? {};
  const snapkvBase = base?.snapkv ?? DEFAULT_SNAPKV;
  const pooling = snapkvIn.pooling ?? snapkvBase.pooling;
  if (pooling !== 'max' && pooling !== 'avg') throw new SettingsError(`setting snapkv.pooling must be 'max' or 'avg', not ${JSON.stringify(pooling)}`);
  const snapkv: ResolvedSnapKv = {
    window: positiveInteger(snapkvIn.window, 'snapkv.window') ?? snapkvBase.window,
    budget: positiveInteger(snapkvIn.budget, 'snapkv.budget') ?? snapkvBase.budget,
    kernel: positiveInteger(snapkvIn.kernel, 'snapkv.kernel') ?? snapkvBase.kernel,
    pooling,
  };
  if (snapkv.kernel % 2 === 0) throw new SettingsError(`setting snapkv.kernel must be odd, not ${snapkv.kernel}`);
  if (snapkv.budget < snapkv.window) {
    throw new SettingsError(`setting snapkv.budget (${snapkv.budget}) must be at least snapkv.window (${snapkv.window})`);
  }
  const backend = given.backend ?? base?.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'cuda' && backend !== 'cpu') {
    throw new SettingsError(`setting backend must be 'auto', 'cuda' or 'cpu', not ${JSON.stringify(backend)}`);
  }
  const gpuMemoryGiB = given.gpuMemoryGiB ?? (base ? base.gpuMemoryBytes / GIB : 0);
  if (typeof gpuMemoryGiB !== 'number' || !Number.isFinite(gpuMemoryGiB) || gpuMemoryGiB < 0) {
    throw new SettingsError(`setting gpuMemoryGiB must be a number of GiB, 0 or more, not ${JSON.stringify(given.gpuMemoryGiB)}`);
  }
  const hostMemoryGiB = given.hostMemoryGiB ?? (base ? base.hostMemoryBytes / GIB : 0);
  if (typeof hostMemoryGiB !== 'number' || !Number.isFinite(hostMemoryGiB) || hostMemoryGiB < 0) {
    throw new SettingsError(`setting hostMemoryGiB must be a number of GiB, 0 or more, not ${JSON.stringify(given.hostMemoryGiB)}`);
  }
  const prefixInHostMemory = given.prefixInHostMemory ?? base?.prefixInHostMemory ?? false;
  if (typeof prefixInHostMemory !== 'boolean') {
    throw new SettingsError(`setting prefixInHostMemory must be true or false, not ${JSON.stringify(prefixInHostMemory)}`);
  }
  const exact = given.exact ?? base?.exact ?? false;
  if (typeof exact !== 'boolean') throw new SettingsError(`setting exact must be true or false, not ${JSON.stringify(exact)}`);
  const givenModelPath = optionalString(given.modelPath, 'modelPath');
  const modelPath = givenModelPath !== undefined ? givenModelPath.trim() || undefined : base?.modelPath;
  const rope = resolveRope(given, base?.rope);
  const givenCacheDir = optionalString(given.cacheDir, 'cacheDir');
  const kvType = given.kvType ?? base?.kvType;
  if (kvType !== undefined && !KV_TYPES.includes(kvType)) {
    throw new SettingsError(`setting kvType must be ${KV_TYPES.map((t) => `'${t}'`).join(', ')}, not ${JSON.stringify(kvType)}`);
  }
  const threads = given.threads ?? base?.threads ?? 0;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 0) {
    throw new SettingsError(`setting threads must be a whole number, 0 (every core) or more, not ${JSON.stringify(given.threads)}`);
  }
  return {
    modelPath,
    backend,
    gpuMemoryBytes: Math.round(gpuMemoryGiB * GIB),
    prefixInHostMemory,
    hostMemoryBytes: Math.round(hostMemoryGiB * GIB),
    exact,
    rope,
    kvType,
    threads,
    snapkv,
    maxContextTokens: positiveInteger(given.maxContextTokens, 'maxContextTokens') ?? base?.maxContextTokens,
    include: given.include !== undefined ? globs(given.include, 'include') : base?.include ?? [],
    exclude: given.exclude !== undefined ? globs(given.exclude, 'exclude') : base?.exclude ?? [],
    includeSecrets: given.includeSecrets !== undefined ? globs(given.includeSecrets, 'includeSecrets') : base?.includeSecrets ?? [],
    cacheDir: givenCacheDir?.trim() || base?.cacheDir || defaultCacheDir(),
    compactMemoryLimit: positiveInteger(given.compactMemoryLimit, 'compactMemoryLimit') ?? base?.compactMemoryLimit ?? 2 * GIB,
    maxAnswerTokens: positiveInteger(given.maxAnswerTokens, 'maxAnswerTokens') ?? base?.maxAnswerTokens ?? 512,
    remote: resolveRemoteSettings(given, base?.remote),
  };
}
