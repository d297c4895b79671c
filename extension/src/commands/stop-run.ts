// "LoRA Lab: Stop Run": removes a queued run, or stops a running one (the stop message, or SIGTERM
// for a reattached run; escalation only after the trainer's announced time). For a sweep's variant
// it asks: Stop Variant or Stop Sweep.
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import type { RunsNode } from '../runs-model';
import { resolveRun } from './pick-run';

export function stopRun(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const node = arg as RunsNode | undefined;
    if (node && typeof node === 'object' && node.kind === 'queued') {
      await ctx.manager.stop({ queuedId: node.queuedId });
      return;
    }
    const view = await resolveRun(ctx, arg, ['running'], 'Run to stop');
    if (!view) return;
    if (view.run.sweep && view.state === 'running') {
      // a sweep's variant: stopping its trainer would end the sweep, so the user chooses
      const { variant, variants, id } = view.run.sweep;
      const choice = await vscode.window.showQuickPick(
        [
          {
            label: 'Stop Variant',
            description: `variant ${variant} only; the sweep goes on with the next`,
            command: 'loraLab.stopVariant',
          },
          {
            label: 'Stop Sweep',
            description: `variant ${variant} and the ${variants - variant - 1} not started yet`,
            command: 'loraLab.stopSweep',
          },
        ],
        { placeHolder: `${view.run.name} is variant ${variant} of sweep ${id}` },
      );
      if (choice) await vscode.commands.executeCommand(choice.command, view.dir);
      return;
    }
    if (!ctx.manager.activeByDir(view.dir) && !ctx.manager.attach(view.dir, view.run)) {
      void vscode.window.showWarningMessage(`LoRA Lab: ${view.run.name} is not running on this machine.`);
      return;
    }
    ctx.log.info(`stopping ${view.run.name}`);
    const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Stopping ${view.run.name}` }, () =>
      ctx.manager.stop({ runDir: view.dir }),
    );
    ctx.log.info(`${view.run.name}: ${outcome}`);
    if (outcome === 'killed')
      void vscode.window.showWarningMessage(
        `LoRA Lab: ${view.run.name} did not stop in time and was killed; resume starts from its last checkpoint.`,
      );
    ctx.runs.request();
  };
}
