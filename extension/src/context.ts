// What every command of the extension host receives: the VS Code extension context, the log
// channel, and where the bundled trainer lives.
import * as path from 'node:path';
import * as vscode from 'vscode';

export interface Ctx {
  extension: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  /** dist/cli.js: the trainer child-process entry (also the `lora-lab` CLI). */
  trainerEntry: string;
}

export function createCtx(extension: vscode.ExtensionContext, log: vscode.LogOutputChannel): Ctx {
  return { extension, log, trainerEntry: path.join(extension.extensionPath, 'dist', 'cli.js') };
}

export type Cmd = (...args: unknown[]) => unknown;
