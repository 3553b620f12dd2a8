// Select Model: a GGUF file from disk, or one of the models Ollama and LM Studio already downloaded.
import * as path from 'path';
import * as vscode from 'vscode';
import { formatBytes } from './format';
import { findLocalModels } from './model-discovery';
import { readServerSettings, saveModelPath } from './settings';

interface ModelPick extends vscode.QuickPickItem {
  modelPath?: string;
  browse?: boolean;
}

export async function selectModel(): Promise<void> {
  const current = readServerSettings().modelPath;
  const picker = vscode.window.createQuickPick<ModelPick>();
  picker.title = 'SnapKV: Select Model';
  picker.placeholder = 'A GGUF model (Llama or Qwen2 architecture)';
  picker.busy = true;
  picker.items = [browseItem()];
  // Listen before the scan: the user may pick "Browse" while models are still being looked for.
  const picked = new Promise<ModelPick | undefined>((resolve) => {
    picker.onDidAccept(() => resolve(picker.selectedItems[0]));
    picker.onDidHide(() => resolve(undefined));
  });
  picker.show();
  const models = await findLocalModels();
  const items: ModelPick[] = [browseItem()];
  for (const source of ['Ollama', 'LM Studio'] as const) {
    const fromSource = models.filter((model) => model.source === source);
    if (fromSource.length === 0) continue;
    items.push({ label: source, kind: vscode.QuickPickItemKind.Separator });
    for (const model of fromSource) {
      items.push({
        label: model.name,
        description: `${formatBytes(model.bytes)}${model.path === current ? ' · current' : ''}`,
        detail: model.path,
        modelPath: model.path,
      });
    }
  }
  if (models.length === 0) {
    items.push({ label: 'No Ollama or LM Studio models found', kind: vscode.QuickPickItemKind.Separator });
  }
  picker.items = items;
  picker.busy = false;

  const choice = await picked;
  picker.dispose();
  if (choice === undefined) return;
  const modelPath = choice.browse ? await browseForModel(current) : choice.modelPath;
  if (modelPath === undefined) return;
  await saveModelPath(modelPath);
  vscode.window.setStatusBarMessage(`SnapKV model: ${path.basename(modelPath)}`, 4000);
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
