// What every command of the extension host receives: the extension context, the log channel,
// the bundled trainer's path, the run manager, the runs controller and the dashboards.
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { RunManager } from './run-manager';
import type { RunsController } from './runs-controller';
import type { DashboardPanels } from './dashboard/dashboard-panels';
import type { ChatPanels } from './chat/chat-panels';
import type { ComparePanels } from './compare/compare-panels';
import type { RunsTreeProvider } from './runs-tree';

export interface Ctx {
  extension: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  /** dist/cli.js: the trainer child-process entry (also the `lora-lab` CLI). */
  trainerEntry: string;
  manager: RunManager;
  runs: RunsController;
  dashboards: DashboardPanels;
  /** Sends a notification to the language server (set once the client has started). */
  notifyServer?: (method: string) => void;
  /** Chat panels ("Chat with Model") and their model children. */
  chats: ChatPanels;
  /** Comparison panels ("Show Memory/Time Trade-offs", "Compare Runs"). */
  compare: ComparePanels;
  /** The Runs view's provider (set after the commands are registered): addRunChildren() hangs rows under runs. */
  runsTree?: RunsTreeProvider;
}

export function trainerEntryOf(extension: vscode.ExtensionContext): string {
  return path.join(extension.extensionPath, 'dist', 'cli.js');
}

export type Cmd = (...args: unknown[]) => unknown;
