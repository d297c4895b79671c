// "LoRA Lab: Reveal Run Folder": shows the run folder in the OS file manager (or, on a remote, in
// the Explorer).
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { ALL_STATES, resolveRun } from './pick-run';

export function revealRunFolder(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const view = await resolveRun(ctx, arg, ALL_STATES, 'Run folder to reveal');
    if (!view) return;
    const uri = vscode.Uri.file(view.dir);
    const command = vscode.env.remoteName ? 'revealInExplorer' : 'revealFileInOS';
    await vscode.commands.executeCommand(command, uri);
  };
}
