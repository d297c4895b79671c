// "LoRA Lab: Delete Run": deletes one run folder or the Runs view's selection (folders with a
// run.json directly under the watched run folders, not running) after one modal confirmation: to
// the trash, or, where the host has none (code-server, Remote - SSH, WSL), permanently after a
// second confirmation; the message says which happened.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { isDeletableRunDir } from '../run-folder';
import type { RunView } from '../runs-model';
import { resolveRun, runDirsOfArgs } from './pick-run';

export const DELETE = 'Delete';
export const DELETE_PERMANENTLY = 'Delete Permanently';

export interface DeleteOutcome {
  trashed: string[];
  deleted: string[];
  /** Folder -> why it stayed. */
  kept: Map<string, string>;
}

/**
 * Deletes folders: to the trash first; the ones the trash refused are deleted permanently only if
 * `confirmPermanent(folders, reason)` says yes (asked once for all of them).
 */
export async function deleteFolders(
  dirs: readonly string[],
  remove: (dir: string, useTrash: boolean) => Promise<void>,
  confirmPermanent: (dirs: string[], reason: string) => Promise<boolean>,
): Promise<DeleteOutcome> {
  const outcome: DeleteOutcome = { trashed: [], deleted: [], kept: new Map() };
  const noTrash: string[] = [];
  let reason = '';
  for (const dir of dirs) {
    try {
      await remove(dir, true);
      outcome.trashed.push(dir);
    } catch (error) {
      noTrash.push(dir);
      reason ||= error instanceof Error ? error.message : String(error);
    }
  }
  if (noTrash.length === 0) return outcome;
  if (!(await confirmPermanent(noTrash, reason))) {
    for (const dir of noTrash) outcome.kept.set(dir, 'the trash refused it and permanent deletion was not confirmed');
    return outcome;
  }
  for (const dir of noTrash) {
    try {
      await remove(dir, false);
      outcome.deleted.push(dir);
    } catch (error) {
      outcome.kept.set(dir, error instanceof Error ? error.message : String(error));
    }
  }
  return outcome;
}

const names = (dirs: string[]) => dirs.map((d) => path.basename(d)).join(', ');

export function deleteRun(ctx: Ctx): Cmd {
  return async (arg?: unknown, args?: unknown) => {
    let views: RunView[];
    const dirs = runDirsOfArgs(arg, args);
    if (dirs.length) {
      ctx.runs.refreshNow();
      views = dirs.map((dir) => ctx.runs.store.view(dir)).filter((v): v is RunView => v !== undefined);
      if (!views.length) return void vscode.window.showErrorMessage(`LoRA Lab: ${dirs.join(', ')}: not a run folder (no run.json).`);
    } else {
      const view = await resolveRun(ctx, arg, ['completed', 'failed', 'stopped', 'crashed'], 'Run to delete');
      if (!view) return;
      views = [view];
    }
    const running = views.filter((v) => v.state === 'running' || ctx.manager.activeByDir(v.dir));
    if (running.length) {
      void vscode.window.showWarningMessage(
        `LoRA Lab: ${running.map((v) => v.run.name).join(', ')} ${running.length === 1 ? 'is' : 'are'} running; stop ${running.length === 1 ? 'it' : 'them'} before deleting.`,
      );
      return;
    }
    for (const view of views) {
      const refusal = isDeletableRunDir(view.dir, ctx.runs.folders());
      if (refusal) return void vscode.window.showErrorMessage(`LoRA Lab: not deleting ${view.dir}: ${refusal}`);
    }
    const title = views.length === 1 ? `Delete the run ${views[0].label ?? views[0].run.name}?` : `Delete ${views.length} runs?`;
    const answer = await vscode.window.showWarningMessage(
      title,
      { modal: true, detail: `${views.map((v) => v.dir).join('\n')}\nwith their checkpoints, adapters and metrics go to the trash.` },
      DELETE,
    );
    if (answer !== DELETE) return;
    for (const view of views) ctx.dashboards.close(view.dir);
    const outcome = await deleteFolders(
      views.map((v) => v.dir),
      (dir, useTrash) => Promise.resolve(vscode.workspace.fs.delete(vscode.Uri.file(dir), { recursive: true, useTrash })),
      async (noTrash, reason) => {
        ctx.log.warn(`the trash is not available here (${reason})`);
        const permanent = await vscode.window.showWarningMessage(
          `This host has no trash. Delete ${noTrash.length === 1 ? `${path.basename(noTrash[0])}` : `${noTrash.length} runs`} permanently?`,
          { modal: true, detail: `${noTrash.join('\n')}\ncannot be moved to a trash (${reason}). Deleting permanently cannot be undone.` },
          DELETE_PERMANENTLY,
        );
        return permanent === DELETE_PERMANENTLY;
      },
    );
    for (const dir of outcome.trashed) ctx.log.info(`moved ${dir} to the trash`);
    for (const dir of outcome.deleted) ctx.log.info(`deleted ${dir} permanently`);
    for (const [dir, why] of outcome.kept) ctx.log.warn(`kept ${dir}: ${why}`);
    const said: string[] = [];
    if (outcome.trashed.length) said.push(`moved ${names(outcome.trashed)} to the trash`);
    if (outcome.deleted.length) said.push(`deleted ${names(outcome.deleted)} permanently`);
    if (outcome.kept.size) said.push(`kept ${names([...outcome.kept.keys()])}`);
    const text = `LoRA Lab: ${said.join('; ')}.`;
    if (outcome.kept.size && !outcome.deleted.length && !outcome.trashed.length) void vscode.window.showWarningMessage(text);
    else void vscode.window.showInformationMessage(text);
    ctx.runs.request();
  };
}
