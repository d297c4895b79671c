// "LoRA Lab: Add lora-lab to the Terminal PATH": the bundled CLI as `lora-lab` in new integrated
// terminals (cli-shim.ts: a shim in global storage + the environment variable collection).
import * as vscode from 'vscode';
import { CLI_ON_PATH_KEY, installCliOnPath } from '../cli-shim';
import type { Cmd, Ctx } from '../context';

export function addCliToPath(ctx: Ctx): Cmd {
  return async () => {
    let binDir: string;
    try {
      binDir = installCliOnPath(ctx.extension, ctx.trainerEntry);
    } catch (error) {
      void vscode.window.showErrorMessage(
        `LoRA Lab: could not write the lora-lab shim: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    await ctx.extension.globalState.update(CLI_ON_PATH_KEY, true);
    ctx.log.info(`lora-lab is on the PATH of new terminals (${binDir})`);
    const open = await vscode.window.showInformationMessage(
      'LoRA Lab: lora-lab is on the PATH of new integrated terminals (terminals already open need a relaunch). Try "lora-lab --version".',
      'Open Terminal',
    );
    if (open === 'Open Terminal') vscode.window.createTerminal({ name: 'lora-lab' }).show();
  };
}
