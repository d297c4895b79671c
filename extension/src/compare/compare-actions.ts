// What the comparison panel's buttons do on the host: start one sweep variant through the run queue
// (the config's errors refuse it, as "Start LoRA Run" does), and save an exported table atomically.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CompareSubject } from '../../../webview/src/compare/protocol';
import { planStart, WRITE_OUTSIDE } from '../commands/start-run';
import type { RunManager } from '../run-manager';
import { trustRefusal } from '../trust';

export interface StartDeps {
  manager: RunManager;
  log: vscode.LogOutputChannel;
}

/** Queues one variant of a config (null: the config has no sweep, start it as is). */
export async function startVariant(deps: StartDeps, configPath: string, variant: number | null): Promise<void> {
  const refusal = trustRefusal('start', vscode.workspace.isTrusted);
  if (refusal) {
    deps.log.warn(refusal);
    void vscode.window.showWarningMessage(refusal);
    return;
  }
  const uri = vscode.Uri.file(configPath);
  const open = vscode.workspace.textDocuments.find((d) => path.resolve(d.uri.fsPath) === path.resolve(configPath));
  // The trainer reads the file: what the panel shows (the editor's text) must be on disk.
  if (open?.isDirty) await open.save();
  const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  const folders = (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath);
  const plan = planStart(text, configPath, folders);
  const name = path.basename(configPath);
  if (plan.errors.length) {
    void vscode.window.showErrorMessage(`LoRA Lab: ${name} has ${plan.errors.length} error(s); fix them to start a run.`, {
      modal: true,
      detail: plan.errors.slice(0, 20).join('\n'),
    });
    return;
  }
  if (variant !== null && variant >= plan.variants)
    throw new Error(`${name} has no variant #${variant} any more (it has ${plan.variants}).`);
  if (plan.writesOutside.length) {
    const answer = await vscode.window.showWarningMessage(
      `LoRA Lab: ${name} writes its runs outside the workspace, to ${plan.writesOutside.join(', ')}. Start anyway?`,
      { modal: true },
      WRITE_OUTSIDE,
    );
    if (answer !== WRITE_OUTSIDE) return;
  }
  const label = variant === null ? plan.name : `${plan.name} (variant ${variant} of ${plan.variants})`;
  deps.manager.enqueue([{ request: variant === null ? { configPath } : { configPath, variant }, device: plan.device, label }]);
  deps.log.info(`queued ${label} from ${configPath} (device ${plan.device}) from the comparison panel`);
}

/** Writes text to a file atomically (temp file in the same folder, then rename). */
export function writeFileAtomic(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

/** Asks where to save the table (beside the config, or the first run's folder) and writes it. */
export async function writeExport(subject: CompareSubject, format: 'markdown' | 'csv', text: string): Promise<void> {
  const extension = format === 'markdown' ? 'md' : 'csv';
  const near =
    subject.mode === 'config'
      ? path.join(
          path.dirname(subject.configPath),
          `${path.basename(subject.configPath).replace(/\.lora\.ya?ml$/i, '')}-comparison.${extension}`,
        )
      : path.join(path.dirname(subject.runDirs[0]), `comparison.${extension}`);
  const target = await vscode.window.showSaveDialog({
    defaultUri: vscode.Uri.file(near),
    filters: format === 'markdown' ? { Markdown: ['md'] } : { CSV: ['csv'] },
    saveLabel: 'Export',
  });
  if (!target) return;
  writeFileAtomic(target.fsPath, text);
  void vscode.window.showInformationMessage(`LoRA Lab: the comparison was saved to ${target.fsPath}.`);
}
