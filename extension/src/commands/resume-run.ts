// "LoRA Lab: Resume Run": queues a stopped, failed or crashed run again from its last checkpoint
// (`train --resume RUN_DIR`: the run folder holds its config). Refused in untrusted workspaces.
// A run that failed with a non-finite loss would diverge again unchanged: a modal says so first and
// offers the resume at a tenth of the learning rate (`--set train.learning_rate=`) or as it was.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { readConfigPlan } from '../config-file';
import type { Cmd, Ctx } from '../context';
import type { RunView } from '../runs-model';
import { allowedByTrust, resolveRun } from './pick-run';

/** The trainer's error code for a loss or gradient norm that became NaN or infinite (native/trainer/run/failures.ts). */
export const NONFINITE_LOSS_CODE = 'E_NONFINITE_LOSS';
export const RESUME_UNCHANGED = 'Resume Unchanged';

/** The resume choices for a run that diverged, or undefined when the run did not fail with a non-finite loss. */
export function divergedResume(view: RunView): { message: string; detail: string; lowerRate?: number } | undefined {
  const error = view.run.error;
  if (view.state !== 'failed' || error?.code !== NONFINITE_LOSS_CODE) return undefined;
  const rate = view.config?.learningRate ?? null;
  const lowerRate = rate !== null && rate > 0 ? Number((rate / 10).toPrecision(3)) : undefined;
  return {
    message: `${view.run.name} failed because its loss became non-finite: resumed unchanged from its last checkpoint it will diverge again.`,
    detail: [
      error.message,
      lowerRate !== undefined
        ? `Resume it with train.learning_rate ${lowerRate} (a tenth of ${rate}), or change the config and start a new run.`
        : 'Change the config and start a new run.',
      error.hint ?? '',
    ]
      .filter(Boolean)
      .join('\n\n'),
    lowerRate,
  };
}

export function lowerRateChoice(rate: number): string {
  return `Resume with Learning Rate ${rate}`;
}

export function resumeRun(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    if (!allowedByTrust(ctx, 'resume')) return;
    const view = await resolveRun(ctx, arg, ['stopped', 'failed', 'crashed'], 'Run to resume');
    if (!view) return;
    if (view.state === 'running' || view.state === 'completed') {
      void vscode.window.showInformationMessage(
        `LoRA Lab: ${view.run.name} is ${view.state}; only stopped, failed or crashed runs resume.`,
      );
      return;
    }
    let resumeSets: string[] = [];
    const diverged = divergedResume(view);
    if (diverged) {
      const choices = [...(diverged.lowerRate !== undefined ? [lowerRateChoice(diverged.lowerRate)] : []), RESUME_UNCHANGED];
      const answer = await vscode.window.showWarningMessage(diverged.message, { modal: true, detail: diverged.detail }, ...choices);
      if (answer === undefined) return;
      if (diverged.lowerRate !== undefined && answer === lowerRateChoice(diverged.lowerRate))
        resumeSets = [`train.learning_rate=${diverged.lowerRate}`];
    }
    const { configPath } = view.run;
    const device = fs.existsSync(configPath) ? readConfigPlan(configPath).device : view.run.device?.kind === 'cpu' ? 'cpu' : 'auto';
    const label = `${view.run.name} (resume${resumeSets.length ? `, ${resumeSets.join(', ')}` : ''})`;
    ctx.manager.enqueue([{ request: { configPath, resumeDir: view.dir, resumeSets }, device, label }]);
    ctx.log.info(`queued resume of ${view.dir}${resumeSets.length ? ` with --set ${resumeSets.join(' --set ')}` : ''}`);
  };
}
