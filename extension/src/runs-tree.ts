// The Runs view: one item per run folder (a folder holding run.json) under the configured run
// folders, newest first, with its status and step.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunJson } from '../../native/trainer/protocol';

export interface RunEntry {
  dir: string;
  run: RunJson;
}

export function readRuns(folders: string[]): RunEntry[] {
  const runs: RunEntry[] = [];
  for (const folder of folders) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = path.join(folder, name);
      try {
        const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunJson;
        runs.push({ dir, run });
      } catch {
        // not a run folder, or run.json is being replaced right now
      }
    }
  }
  return runs.sort((a, b) => b.run.startedMs - a.run.startedMs);
}

export function runFolders(): string[] {
  const configured = vscode.workspace.getConfiguration('loraLab').get<string[]>('runFolders', ['out/lora']);
  const roots = vscode.workspace.workspaceFolders?.map((f) => f.uri.fsPath) ?? [];
  return configured.flatMap((p) => (path.isAbsolute(p) ? [p] : roots.map((r) => path.join(r, p))));
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunEntry> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(entry: RunEntry): vscode.TreeItem {
    const item = new vscode.TreeItem(entry.run.name, vscode.TreeItemCollapsibleState.None);
    item.description = `${entry.run.status} · step ${entry.run.step}/${entry.run.totalSteps}`;
    item.tooltip = entry.dir;
    item.contextValue = `run.${entry.run.status}`;
    return item;
  }

  getChildren(entry?: RunEntry): RunEntry[] {
    return entry ? [] : readRuns(runFolders());
  }
}
