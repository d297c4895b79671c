// "LoRA Lab: Start LoRA Run": picks the active *.lora.yaml (or asks for one in the workspace)
// and hands it to the trainer; refused in untrusted workspaces.
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { forkTrainer } from '../trainer-process';

export function isLoraConfig(uri: vscode.Uri): boolean {
  return /\.lora\.ya?ml$/i.test(uri.path);
}

async function pickConfig(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && isLoraConfig(active)) return active;
  const found = await vscode.workspace.findFiles('**/*.{lora.yaml,lora.yml}', '**/node_modules/**', 200);
  if (found.length === 0) {
    void vscode.window.showErrorMessage('LoRA Lab: no *.lora.yaml config in this workspace. Create one to start a run.');
    return undefined;
  }
  if (found.length === 1) return found[0];
  const items = found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }));
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Config to train' }))?.uri;
}

export function startRun(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        'LoRA Lab: runs are not started in an untrusted workspace, because training executes on its data and checkpoints. Trust the workspace to start runs.',
      );
      return;
    }
    const uri = arg instanceof vscode.Uri && isLoraConfig(arg) ? arg : await pickConfig();
    if (!uri) return;
    await vscode.workspace.saveAll(false);
    ctx.log.info(`starting a run from ${uri.fsPath}`);
    forkTrainer(ctx, ['train', uri.fsPath]);
  };
}
