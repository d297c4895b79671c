// "LoRA Lab: Resume Run": queues a stopped, failed or crashed run again from its last checkpoint
// (`train --resume RUN_DIR`: the run folder holds its config). On a checkpoint row that is not the
// run's latest (any finished run) it forks: `--checkpoint` makes the trainer start a new run
// folder from that checkpoint (recorded in its run.json), the original and its later checkpoints
// untouched. A run that failed with a non-finite loss would diverge again unchanged: a modal says
// so first and offers the resume at a tenth of the learning rate (`--set train.learning_rate=`) or
// as it was. Refused in untrusted workspaces.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfigPlan } from '../config-file';
import type { Cmd, Ctx } from '../context';
import type { RunView } from '../runs-model';
import { allowedByTrust, checkpointOfArg, resolveRun } from './pick-run';

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
    const checkpoint = checkpointOfArg(arg);
    const view = await resolveRun(ctx, checkpoint ? checkpoint.runDir : arg, ['stopped', 'failed', 'crashed'], 'Run to resume');
    if (!view) return;
    const fork = checkpoint !== undefined && !checkpoint.latest;
    if (view.state === 'running' || (view.state === 'completed' && !fork)) {
      void vscode.window.showInformationMessage(
        `LoRA Lab: ${view.run.name} is ${view.state}; only stopped, failed or crashed runs resume (or any finished run from an earlier checkpoint, as a new run).`,
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
    const request = { configPath, resumeDir: view.dir, resumeSets, ...(fork ? { checkpoint: checkpoint.dir } : {}) };
    const sets = resumeSets.length ? `, ${resumeSets.join(', ')}` : '';
    const label = fork ? `${view.run.name} from step ${checkpoint.step} (new run${sets})` : `${view.run.name} (resume${sets})`;
    ctx.manager.enqueue([{ request, device, label }]);
    ctx.log.info(
      (fork
        ? `queued a new run from ${path.relative(view.dir, checkpoint.dir)} of ${view.dir} (the original keeps its later checkpoints)`
        : `queued resume of ${view.dir}`) + (resumeSets.length ? ` with --set ${resumeSets.join(' --set ')}` : ''),
    );
  };
}
