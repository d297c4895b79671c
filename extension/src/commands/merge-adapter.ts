// "LoRA Lab: Merge Adapter": forks `cli.js merge --checkpoint BASE --adapter <run>/adapter
// --out <run>/merged` (the CLI writes there, not the host) with a cancellable progress notification.
// On a checkpoint row (or picked from the palette) it merges that checkpoint's adapter into
// `<run>/merged-step-N` instead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { baseCheckpointOf } from '../config-file';
import type { Cmd, Ctx } from '../context';
import { forkTrainer, mergeArgs, trainerForkOptions } from '../trainer-process';
import { runAdapters } from './chat-with-model';
import { allowedByTrust, checkpointOfArg, resolveRun } from './pick-run';

/** The step of a `checkpoints/step-N` folder. */
function stepOf(dir: string): number | null {
  const match = /step-(\d+)$/.exec(dir);
  return match ? Number(match[1]) : null;
}

export function mergeAdapter(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    if (!allowedByTrust(ctx, 'merge')) return;
    const chosenCheckpoint = checkpointOfArg(arg);
    const view = await resolveRun(
      ctx,
      chosenCheckpoint ? chosenCheckpoint.runDir : arg,
      ['completed', 'stopped', 'failed', 'crashed'],
      'Run whose adapter to merge',
    );
    if (!view) return;
    let adapter = chosenCheckpoint ? { dir: chosenCheckpoint.dir, step: chosenCheckpoint.step as number | null } : undefined;
    if (!adapter) {
      const adapters = runAdapters(view.dir);
      // from the palette, or a run without a final adapter: any of its adapters (final, checkpoints)
      if (adapters.length > 1 && (arg === undefined || !view.hasAdapter)) {
        const picked = await vscode.window.showQuickPick(
          adapters.map((a) => ({ label: a.label, detail: a.dir, a })),
          { placeHolder: `Adapter of ${view.run.name} to merge` },
        );
        if (!picked) return;
        adapter = { dir: picked.a.dir, step: picked.a.dir === path.join(view.dir, 'adapter') ? null : stepOf(picked.a.dir) };
      } else if (view.hasAdapter) {
        adapter = { dir: path.join(view.dir, 'adapter'), step: null };
      } else if (adapters.length === 1) {
        adapter = { dir: adapters[0].dir, step: stepOf(adapters[0].dir) };
      }
    }
    if (!adapter) {
      void vscode.window.showErrorMessage(
        `LoRA Lab: ${view.run.name} has no adapter yet (adapter/adapter_config.json, or a checkpoint); one is written at each checkpoint and when training completes.`,
      );
      return;
    }
    const checkpoint = baseCheckpointOf(view.dir, view.run.configPath);
    if (!checkpoint || !fs.existsSync(checkpoint)) {
      void vscode.window.showErrorMessage(
        `LoRA Lab: the base checkpoint of ${view.run.name} (${checkpoint ?? 'model.checkpoint in its config.yaml'}) was not found.`,
      );
      return;
    }
    const out = path.join(view.dir, adapter.step === null ? 'merged' : `merged-step-${adapter.step}`);
    if (fs.existsSync(out)) {
      const again = await vscode.window.showWarningMessage(
        `${view.run.name} already has a merged model. Merge again?`,
        { modal: true, detail: out },
        'Merge Again',
      );
      if (again !== 'Merge Again') return;
    }
    const args = mergeArgs(checkpoint, adapter.dir, out);
    ctx.log.info(`merging: ${args.join(' ')}`);
    const code = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Merging ${view.run.name}`, cancellable: true },
      (progress, token) =>
        new Promise<number | null>((resolve) => {
          const options = {
            ...trainerForkOptions(path.dirname(view.run.configPath), 'ignore', 0),
            stdio: ['ignore', 'pipe', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[],
            detached: false,
          };
          const child = forkTrainer(ctx.trainerEntry, args, options);
          const onText = (level: 'info' | 'warn') => (chunk: Buffer) => {
            for (const line of chunk
              .toString('utf8')
              .split('\n')
              .filter((l) => l.trim())) {
              ctx.log[level](`[merge] ${line}`);
              progress.report({ message: line.slice(0, 120) });
            }
          };
          child.stdout?.on('data', onText('info'));
          child.stderr?.on('data', onText('warn'));
          token.onCancellationRequested(() => child.kill('SIGTERM'));
          child.on('error', (err) => {
            ctx.log.error(`[merge] ${err.message}`);
            resolve(null);
          });
          child.on('exit', (exitCode) => resolve(exitCode));
        }),
    );
    if (code === 0) {
      const open = await vscode.window.showInformationMessage(`LoRA Lab: merged ${view.run.name} into ${out}.`, 'Reveal');
      if (open === 'Reveal') await vscode.commands.executeCommand('loraLab.revealRunFolder', view.dir);
    } else {
      const logs = await vscode.window.showErrorMessage(
        `LoRA Lab: merging ${view.run.name} failed (exit ${code ?? 'error'}).`,
        'Show Logs',
      );
      if (logs === 'Show Logs') ctx.log.show(true);
    }
    ctx.runs.request();
  };
}
