// "LoRA Lab: Show Logs": the "LoRA Lab" log channel; on a run also its train.log (which the
// trainer writes) in an editor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { runDirOfArg } from './pick-run';

export function showLogs(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    ctx.log.show(true);
    const dir = runDirOfArg(arg);
    if (!dir) return;
    const file = path.join(dir, 'train.log');
    if (!fs.existsSync(file)) {
      void vscode.window.showInformationMessage(`LoRA Lab: ${path.basename(dir)} has no train.log.`);
      return;
    }
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true, viewColumn: vscode.ViewColumn.Beside });
  };
}
