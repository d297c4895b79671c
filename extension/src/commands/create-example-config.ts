// "LoRA Lab: Create Example Config": copies the bundled example configs, the tiny model and the
// sample data into a workspace folder and opens the config, ready for "Start LoRA Run".
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { copyExample, planExampleCopy } from '../examples';

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 1) return folders[0].uri;
  if (folders.length > 1) return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Folder to put the example into' }))?.uri;
  void vscode.window.showErrorMessage('LoRA Lab: open a folder first; the example is copied into it.');
  return undefined;
}

export function createExampleConfig(ctx: Ctx): Cmd {
  return async () => {
    const folder = await pickFolder();
    if (!folder) return;
    const examples = path.join(ctx.extension.extensionPath, 'examples');
    let plan;
    try {
      plan = planExampleCopy(examples, folder.fsPath);
      copyExample(plan);
    } catch (err) {
      const message = `LoRA Lab: could not create the example: ${(err as Error).message}`;
      ctx.log.error(message);
      void vscode.window.showErrorMessage(message);
      return;
    }
    for (const [, destination] of plan.copies) ctx.log.info(`example: created ${destination}`);
    if (plan.existing.length) {
      ctx.log.info(`example: kept existing ${plan.existing.join(', ')}`);
      void vscode.window.showInformationMessage(
        `LoRA Lab: kept ${plan.existing.length} existing file(s): ${plan.existing.map((p) => path.basename(p)).join(', ')}.`,
      );
    }
    await vscode.window.showTextDocument(vscode.Uri.file(plan.config));
  };
}
