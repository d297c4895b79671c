// "LoRA Lab: Runs": `lora-lab runs DIR` for every folder the Runs view watches, printed in the LoRA
// Lab output channel (status, step, loss, memory and time as a table).
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { cliCwd, runCliToChannel } from '../cli-process';
import type { Cmd, Ctx } from '../context';

export function listRuns(ctx: Ctx): Cmd {
  return async () => {
    const folders = ctx.runs.folders().filter((folder) => fs.existsSync(folder));
    if (!folders.length) {
      void vscode.window.showInformationMessage(
        `LoRA Lab: no run folders yet (setting loraLab.runFolders: ${ctx.runs.folders().join(', ')}).`,
      );
      return;
    }
    for (const folder of folders) {
      const code = await runCliToChannel(ctx, ['runs', folder], 'LoRA Lab: runs', cliCwd(ctx));
      if (code === null) return;
    }
  };
}
