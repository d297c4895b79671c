// "LoRA Lab: Stop Sweep": ends a sweep's trainer (the training variant stops with a checkpoint, the
// variants not started stay "never run") and says which variants never ran.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import type { RunsNode, RunView } from '../runs-model';
import { runDirOfArg } from './pick-run';

/** The sweep id a command argument names: a sweep node, or one of its variants (node or run folder). */
function sweepIdOf(ctx: Ctx, arg: unknown): string | undefined {
  const node = arg as RunsNode | undefined;
  if (node && typeof node === 'object' && (node.kind === 'sweep' || node.kind === 'variant')) return node.sweepId;
  const dir = runDirOfArg(arg);
  return dir ? ctx.runs.store.view(dir)?.run.sweep?.id : undefined;
}

export function stopSweep(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    ctx.runs.refreshNow();
    let sweepId = sweepIdOf(ctx, arg);
    if (!sweepId) {
      const live = [
        ...new Set(
          ctx.runs
            .views()
            .filter((v) => v.run.sweep && v.trainerAlive)
            .map((v) => v.run.sweep!.id),
        ),
      ];
      if (!live.length) return void vscode.window.showInformationMessage('LoRA Lab: no sweep is running.');
      sweepId = live.length === 1 ? live[0] : await vscode.window.showQuickPick(live, { placeHolder: 'Sweep to stop' });
      if (!sweepId) return;
    }
    const variants = ctx.runs.views().filter((v) => v.run.sweep?.id === sweepId);
    const dirs = new Set(variants.map((v) => path.resolve(v.dir)));
    let active = ctx.manager.active().find((r) => r.runDir && dirs.has(path.resolve(r.runDir)));
    const training = variants.find((v) => v.state === 'running');
    if (!active && training) active = ctx.manager.attach(training.dir, training.run);
    if (!active) return void vscode.window.showInformationMessage(`LoRA Lab: sweep ${sweepId} is not running on this machine.`);
    ctx.log.info(`stopping sweep ${sweepId}`);
    const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Stopping sweep ${sweepId}` }, () =>
      ctx.manager.stop({ activeId: active.id }),
    );
    ctx.runs.refreshNow();
    const after = ctx.runs.views().filter((v) => v.run.sweep?.id === sweepId);
    const total = Math.max(0, ...after.map((v: RunView) => v.run.sweep!.variants));
    const ran = new Set(after.map((v) => v.run.sweep!.variant));
    const never = [...Array(total).keys()].filter((i) => !ran.has(i));
    const summary = `LoRA Lab: stopped sweep ${sweepId} (${outcome})${never.length ? `; variant${never.length === 1 ? '' : 's'} ${never.join(', ')} never ran` : ''}.`;
    ctx.log.info(summary);
    void vscode.window.showInformationMessage(summary);
    ctx.runs.request();
  };
}
