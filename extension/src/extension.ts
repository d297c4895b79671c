// Extension entry: a thin activate that builds the context (run manager, runs controller, views,
// dashboards), registers every command from one table, starts the language client, and reports a
// start-up failure itself.
import * as path from 'node:path';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { CLI_ON_PATH_KEY, installCliOnPath } from './cli-shim';
import { COMMAND_TABLE } from './commands';
import { trainerEntryOf, type Ctx } from './context';
import { ChatModels } from './chat/chat-models';
import { ChatPanels } from './chat/chat-panels';
import { ComparePanels } from './compare/compare-panels';
import { DashboardPanels } from './dashboard/dashboard-panels';
import { evalChildren } from './eval/score-nodes';
import { RunManager } from './run-manager';
import { notifyRunEnds } from './run-notifications';
import { RunsController } from './runs-controller';
import { openSelectedRunCommand, RunsTreeProvider } from './runs-tree';
import { RunStatusBar } from './status-bar';

export { COMMAND_TABLE };

function setting<T>(key: string, fallback: T): T {
  return vscode.workspace.getConfiguration('loraLab').get<T>(key, fallback);
}

export function activate(extension: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('LoRA Lab', { log: true });
  extension.subscriptions.push(log);
  try {
    const trainerEntry = trainerEntryOf(extension);
    const manager = new RunManager({
      trainerEntry,
      outputDir: extension.logUri?.fsPath ?? path.join(os.tmpdir(), 'lora-lab-host'),
      maxConcurrentRuns: () => setting('maxConcurrentRuns', 1),
      threads: () => setting('threads', 0),
      log: (level, message) => log[level](message),
    });
    const runs = new RunsController(extension, manager, log);
    const dashboards = new DashboardPanels({ extensionUri: extension.extensionUri, runs, manager, log });
    const models = new ChatModels({
      entry: trainerEntry,
      threads: () => setting('threads', 0),
      log: (level, message) => log[level](message),
    });
    const chats = new ChatPanels({ extensionUri: extension.extensionUri, models, manager, log });
    const compare = new ComparePanels({ extensionUri: extension.extensionUri, runs, manager, log });
    const ctx: Ctx = { extension, log, trainerEntry, manager, runs, dashboards, chats, compare };
    extension.subscriptions.push(manager, runs, dashboards, chats, compare);
    for (const [id, make] of Object.entries(COMMAND_TABLE)) {
      extension.subscriptions.push(vscode.commands.registerCommand(id, make(ctx)));
    }
    const tree = new RunsTreeProvider(runs, manager);
    ctx.runsTree = tree;
    extension.subscriptions.push(tree.addRunChildren(evalChildren)); // a run's evaluation scores under it
    const treeView = vscode.window.createTreeView('loraLab.runs', { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
    tree.attachView(treeView);
    extension.subscriptions.push(tree, treeView, openSelectedRunCommand(treeView), new RunStatusBar(runs, manager), notifyRunEnds(manager));
    extension.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('loraLab.maxConcurrentRuns') && manager.pump()),
    );
    // Loaded lazily: the language client needs the real VS Code API at import time.
    import('../../language-server/src/client')
      .then((client) => client.startLanguageClient(extension, log))
      .then(
        (client) => {
          ctx.notifyServer = (method) => void client.sendNotification(method);
          log.info('language server started');
        },
        (error: unknown) => log.error(`the language server did not start: ${error instanceof Error ? error.message : String(error)}`),
      );
    // The shim names this version's dist/cli.js: rewrite it after an update.
    if (extension.globalState?.get<boolean>(CLI_ON_PATH_KEY)) {
      try {
        installCliOnPath(extension, trainerEntry);
      } catch (error) {
        log.warn(`could not refresh the lora-lab shim: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    log.info(`LoRA Lab activated (trainer ${trainerEntry})`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`activation failed: ${message}`);
    void vscode.window.showErrorMessage(`LoRA Lab failed to start: ${message}`);
  }
}

export function deactivate(): void {}
