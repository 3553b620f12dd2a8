// "SnapKV: Show Status": what the server holds, in a quick pick with the actions that follow from it.
import * as vscode from 'vscode';
import type { StatusResult } from '../../server/src/protocol';
import type { IndexState } from './index-state';
import { statusRows } from './status-rows';

interface StatusPick extends vscode.QuickPickItem {
  command?: string;
}

export async function showStatusDetails(state: IndexState, status: StatusResult | undefined): Promise<void> {
  const items: StatusPick[] = [{ label: 'Status', kind: vscode.QuickPickItemKind.Separator }, ...statusRows(state, status)];
  items.push(
    { label: 'Actions', kind: vscode.QuickPickItemKind.Separator },
    { label: '$(refresh) Reindex Workspace', command: 'snapkvCode.reindex' },
    { label: '$(file-binary) Select Model', command: 'snapkvCode.selectModel' },
    { label: '$(graph) Show Context Map', command: 'snapkvCode.showContextMap' },
    { label: '$(output) Show Log', command: 'snapkvCode.showLog' },
    { label: '$(debug-restart) Restart Server', command: 'snapkvCode.restartServer' },
  );
  const picked = await vscode.window.showQuickPick(items, { title: 'SnapKV Code', placeHolder: 'Status and actions' });
  if (picked?.command !== undefined) await vscode.commands.executeCommand(picked.command);
}
