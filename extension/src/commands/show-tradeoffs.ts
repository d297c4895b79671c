// "LoRA Lab: Show Memory/Time Trade-offs" (palette, editor title, the estimate code lens): the
// comparison panel of a config beside it: its sweep variants with their predicted cost, its runs with
// the measured cost and evaluation scores (extension/src/compare).
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { isLoraConfig } from './start-run';

/** The config a command argument names (the lens passes its file path), else the active editor's. */
export function configUriOfArg(arg: unknown): vscode.Uri | undefined {
  if (typeof arg === 'string') return arg.includes('://') ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
  if (arg instanceof vscode.Uri) return arg;
  return vscode.window.activeTextEditor?.document.uri;
}

export function showTradeoffs(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const uri = configUriOfArg(arg);
    if (!uri || !isLoraConfig(uri)) {
      void vscode.window.showWarningMessage('LoRA Lab: open a *.lora.yaml config to see its memory/time trade-offs and runs.');
      return;
    }
    ctx.compare.open({ mode: 'config', configPath: uri.fsPath });
  };
}
