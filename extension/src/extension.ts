// Extension entry: thin activate that builds the context, registers every command from one
// table and the Runs view, and reports a start-up failure itself.
import * as vscode from 'vscode';
import { startRun } from './commands/start-run';
import { createCtx, type Cmd, type Ctx } from './context';
import { RunsTreeProvider } from './runs-tree';

/** Every command the manifest declares, by id. A test checks this table against package.json. */
export const COMMAND_TABLE: Record<string, (ctx: Ctx) => Cmd> = {
  'loraLab.startRun': startRun,
};

export function activate(extension: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('LoRA Lab', { log: true });
  extension.subscriptions.push(log);
  try {
    const ctx = createCtx(extension, log);
    for (const [id, make] of Object.entries(COMMAND_TABLE)) {
      extension.subscriptions.push(vscode.commands.registerCommand(id, make(ctx)));
    }
    const runs = new RunsTreeProvider();
    extension.subscriptions.push(vscode.window.registerTreeDataProvider('loraLab.runs', runs));
    log.info('LoRA Lab activated');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`activation failed: ${message}`);
    void vscode.window.showErrorMessage(`LoRA Lab failed to start: ${message}`);
  }
}

export function deactivate(): void {}
