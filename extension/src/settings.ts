// The extension's settings (all under `snapkvCode.`) and their translation into the server's ServerSettings.
import * as vscode from 'vscode';
import type { ServerSettings, SnapKvSettings } from '../../server/src/protocol';

export const SETTINGS_SECTION = 'snapkvCode';

/** Settings whose change alters the packed repository or the model, so the prefix must be built again. */
const PREFIX_SETTINGS = ['modelPath', 'backend', 'gpuMemoryGiB', 'hostMemoryGiB', 'prefixInHostMemory', 'exact', 'ropeScaling', 'ropeScale', 'kvType', 'threads', 'maxContextTokens', 'include', 'exclude', 'includeSecrets', 'serverUrl', 'serverModel'] as const;

export function readServerSettings(): ServerSettings {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  const settings: ServerSettings = {
    backend: config.get<'auto' | 'cuda' | 'cpu'>('backend', 'auto'),
    gpuMemoryGiB: config.get<number>('gpuMemoryGiB', 0),
    hostMemoryGiB: config.get<number>('hostMemoryGiB', 0),
    prefixInHostMemory: config.get<boolean>('prefixInHostMemory', false),
    exact: config.get<boolean>('exact', false),
    ropeScaling: config.get<'file' | 'none' | 'linear' | 'yarn'>('ropeScaling', 'file'),
    ropeScale: config.get<number>('ropeScale', 4),
    kvType: config.get<'f16' | 'bf16' | 'q8_0' | 'f32'>('kvType', 'f16'),
    threads: config.get<number>('threads', 0),
    snapkv: readSnapKvSettings(config),
    include: config.get<string[]>('include', []),
    exclude: config.get<string[]>('exclude', []),
    includeSecrets: config.get<string[]>('includeSecrets', []),
  };
  const modelPath = expandHome(config.get<string>('modelPath', '').trim());
  if (modelPath) settings.modelPath = modelPath;
  const maxContextTokens = config.get<number | null>('maxContextTokens', null);
  if (typeof maxContextTokens === 'number' && maxContextTokens > 0) settings.maxContextTokens = maxContextTokens;
  const maxAnswerTokens = config.get<number | null>('maxAnswerTokens', null);
  if (typeof maxAnswerTokens === 'number' && maxAnswerTokens > 0) settings.maxAnswerTokens = maxAnswerTokens;
  const cacheDir = expandHome(config.get<string>('cacheDir', '').trim());
  if (cacheDir) settings.cacheDir = cacheDir;
  // Always sent, empty included: an emptied serverUrl must turn the remote backend off.
  settings.serverUrl = config.get<string>('serverUrl', '').trim();
  settings.serverApiKey = config.get<string>('serverApiKey', '').trim();
  settings.serverModel = config.get<string>('serverModel', '').trim();
  return settings;
}

function readSnapKvSettings(config: vscode.WorkspaceConfiguration): SnapKvSettings {
  return {
    window: config.get<number>('snapkv.window', 32),
    budget: config.get<number>('snapkv.budget', 2048),
    kernel: config.get<number>('snapkv.kernel', 7),
    pooling: config.get<'max' | 'avg'>('snapkv.pooling', 'max'),
  };
}

export function affectsServerSettings(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(SETTINGS_SECTION);
}

/** True when a settings change means the repository prefix must be rebuilt (model, packing). */
export function affectsPrefix(event: vscode.ConfigurationChangeEvent): boolean {
  return PREFIX_SETTINGS.some((key) => event.affectsConfiguration(`${SETTINGS_SECTION}.${key}`));
}

export function indexOnStartup(): boolean {
  return vscode.workspace.getConfiguration(SETTINGS_SECTION).get<boolean>('indexOnStartup', true);
}

export async function saveModelPath(modelPath: string): Promise<void> {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  await config.update('modelPath', modelPath, vscode.ConfigurationTarget.Global);
}

function expandHome(value: string): string {
  if (value === '~' || value.startsWith('~/')) {
    const home = process.env.HOME ?? process.env.USERPROFILE ?? '';
    return home + value.slice(1);
  }
  return value;
}
