// Select Model: a GGUF file from disk, or one of the models Ollama and LM Studio already downloaded, as the
// server finds and describes them (snapkv/models): the server is the one place that looks for models.
import * as path from 'path';
import * as vscode from 'vscode';
import type { LocalModel, ModelLoadStatus, ModelsResult } from '../../server/src/protocol';
import { formatBytes, formatTokens } from './format';
import { modelLoadTitle } from './model-load-text';
import { messageOf, RepoServer } from './repo-server';
import { readServerSettings, saveModelPath } from './settings';

interface ModelPick extends vscode.QuickPickItem {
  modelPath?: string;
  browse?: boolean;
}

const SOURCE_NAMES: Record<LocalModel['source'], string> = { ollama: 'Ollama', 'lm-studio': 'LM Studio' };

export async function selectModel(server: RepoServer): Promise<void> {
  const current = readServerSettings().modelPath;
  const picker = vscode.window.createQuickPick<ModelPick>();
  picker.title = 'SnapKV: Select Model';
  picker.placeholder = 'A GGUF model (Llama, Qwen2 or Qwen3 architecture)';
  picker.busy = true;
  picker.items = [browseItem()];
  // Listen before the listing: the user may pick "Browse" while models are still being looked for.
  const picked = new Promise<ModelPick | undefined>((resolve) => {
    picker.onDidAccept(() => resolve(picker.selectedItems[0]));
    picker.onDidHide(() => resolve(undefined));
  });
  picker.show();
  // The listing fills in when it arrives; Browse works at once, without waiting for it.
  let open = true;
  void foundItems(server, current).then((items) => {
    if (!open) return;
    picker.items = [browseItem(), ...items];
    picker.busy = false;
  });
  // A load in flight is said here, so that the user knows a choice replaces it rather than racing it (the server
  // drops the old load when the setting changes).
  void loadInFlight(server).then((load) => {
    if (open && load !== undefined) picker.placeholder = `${modelLoadTitle(load)} A model chosen here replaces it.`;
  });

  const choice = await picked;
  open = false;
  picker.dispose();
  if (choice === undefined) return;
  const modelPath = choice.browse ? await browseForModel(current) : choice.modelPath;
  if (modelPath === undefined) return;
  await saveModelPath(modelPath);
  vscode.window.setStatusBarMessage(`SnapKV model: ${path.basename(modelPath)}`, 4000);
}

async function loadInFlight(server: RepoServer): Promise<ModelLoadStatus | undefined> {
  if (server.state !== 'running') return undefined;
  try {
    const status = await server.status();
    return status.remote ? undefined : status.modelLoad;
  } catch {
    return undefined;
  }
}

async function foundItems(server: RepoServer, current: string | undefined): Promise<ModelPick[]> {
  if (server.state !== 'running') return [{ label: 'Models found on this machine are listed once the SnapKV server runs', kind: vscode.QuickPickItemKind.Separator }];
  let found: ModelsResult;
  try {
    found = await server.models();
  } catch (error) {
    return [{ label: `Models could not be listed: ${messageOf(error)}`, kind: vscode.QuickPickItemKind.Separator }];
  }
  if (found.models.length === 0) return [{ label: 'No Ollama or LM Studio models found', kind: vscode.QuickPickItemKind.Separator }];
  const items: ModelPick[] = [];
  for (const source of ['ollama', 'lm-studio'] as const) {
    const fromSource = found.models.filter((model) => model.source === source);
    if (fromSource.length === 0) continue;
    items.push({ label: SOURCE_NAMES[source], kind: vscode.QuickPickItemKind.Separator });
    for (const model of fromSource) items.push(modelItem(model, current));
  }
  return items;
}

function modelItem(model: LocalModel, current: string | undefined): ModelPick {
  const facts = [formatBytes(model.bytes), model.architecture, model.weightTypes.split(',')[0], model.contextLength > 0 ? `${formatTokens(model.contextLength)} context` : '']
    .filter((fact) => fact !== '')
    .join(' · ');
  return {
    label: model.runs ? model.name : `$(warning) ${model.name}`,
    description: `${facts}${model.path === current ? ' · current' : ''}`,
    detail: model.runs ? model.path : `Does not run here: ${model.whyNot ?? 'unknown reason'}`,
    modelPath: model.path,
  };
}

function browseItem(): ModelPick {
  return { label: '$(folder-opened) Browse for a GGUF file…', browse: true, alwaysShow: true };
}

async function browseForModel(current: string | undefined): Promise<string | undefined> {
  const files = await vscode.window.showOpenDialog({
    title: 'Select a GGUF model',
    canSelectMany: false,
    openLabel: 'Use this model',
    filters: { 'GGUF models': ['gguf'], 'All files': ['*'] },
    defaultUri: current ? vscode.Uri.file(path.dirname(current)) : undefined,
  });
  return files?.[0]?.fsPath;
}
