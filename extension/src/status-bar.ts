// The status bar item while a run is active: name, step and loss of the newest active run (and
// how many more run or wait); a click opens its dashboard. Hidden when nothing runs.
import * as vscode from 'vscode';
import { formatLoss } from '../../language-server/src/lib/format';
import type { RunManager } from './run-manager';
import type { RunsController } from './runs-controller';

/** The status bar text and the run folder it opens, or undefined when it should be hidden. */
export function statusBarText(
  active: readonly { name?: string; label: string; runDir?: string; step?: number; totalSteps?: number; loss?: number }[],
  queued: number,
): { text: string; runDir?: string } | undefined {
  if (active.length === 0 && queued === 0) return undefined;
  if (active.length === 0) return { text: `$(clock) LoRA: ${queued} queued` };
  const run = active[active.length - 1];
  const parts = [`$(sync~spin) ${run.name ?? run.label}`];
  if (run.step !== undefined) parts.push(`${run.step}/${run.totalSteps ?? '?'}`);
  if (run.loss !== undefined) parts.push(`loss ${formatLoss(run.loss)}`);
  const more = active.length - 1 + queued;
  if (more > 0) parts.push(`(+${more})`);
  return { text: parts.join(' '), runDir: run.runDir };
}

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('loraLab.run', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly runs: RunsController,
    private readonly manager: RunManager,
  ) {
    this.item.name = 'LoRA Lab run';
    this.subscription = runs.onDidChange(() => this.update());
    this.update();
  }

  private update(): void {
    const active = this.manager.active().map((run) => {
      const view = run.runDir ? this.runs.store.view(run.runDir) : undefined;
      return {
        ...run,
        step: view?.run.step ?? run.step,
        totalSteps: view?.run.totalSteps ?? run.totalSteps,
        loss: view?.lastTrainLoss ?? run.loss,
      };
    });
    const shown = statusBarText(active, this.manager.queue().length);
    if (!shown) {
      this.item.hide();
      return;
    }
    this.item.text = shown.text;
    this.item.tooltip = 'LoRA Lab: open the run dashboard';
    this.item.command = shown.runDir
      ? { command: 'loraLab.openDashboard', title: 'Open Dashboard', arguments: [shown.runDir] }
      : 'workbench.view.extension.loraLab';
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
