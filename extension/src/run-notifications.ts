// Notifications for the end of runs the host started: completed (with the final loss) or failed
// (the trainer's message and hint), each offering the run's dashboard.
import * as vscode from 'vscode';
import type { TrainerEvent } from '../../native/trainer/protocol';
import { formatLoss } from '../../language-server/src/lib/format';
import type { ActiveRun, RunManager } from './run-manager';

/** The notification for a trainer event, or undefined for events that do not end a run. */
export function endOfRunMessage(
  run: Pick<ActiveRun, 'name' | 'label'>,
  event: TrainerEvent,
): { level: 'info' | 'error'; text: string } | undefined {
  const name = run.name ?? run.label;
  if (event.type === 'done') {
    const loss = event.summary.finalTrainLoss;
    return { level: 'info', text: `LoRA Lab: ${name} completed${loss !== null ? ` (loss ${formatLoss(loss)})` : ''}.` };
  }
  if (event.type === 'failed') {
    return { level: 'error', text: `LoRA Lab: ${name} failed: ${event.error.message}${event.error.hint ? ` ${event.error.hint}` : ''}` };
  }
  return undefined;
}

export function notifyRunEnds(manager: RunManager): vscode.Disposable {
  const subscription = manager.onEvent.on((run, event) => {
    const message = endOfRunMessage(run, event);
    if (!message) return;
    const show = message.level === 'info' ? vscode.window.showInformationMessage : vscode.window.showErrorMessage;
    void show(message.text, 'Open Dashboard').then((choice) => {
      if (choice === 'Open Dashboard') void vscode.commands.executeCommand('loraLab.openDashboard', event.runDir);
    });
  });
  return { dispose: () => subscription.dispose() };
}
