// "LoRA Lab: Resume Run": queues a stopped, failed or crashed run again from its last checkpoint
// (`train --resume RUN_DIR`: the run folder holds its config). On a checkpoint row that is not the
// run's latest (any finished run) it forks: `--checkpoint` makes the trainer start a new run
// folder from that checkpoint (recorded in its run.json), the original and its later checkpoints
// untouched. Refused in untrusted workspaces.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readConfigPlan } from '../config-file';
import type { Cmd, Ctx } from '../context';
import { allowedByTrust, checkpointOfArg, resolveRun } from './pick-run';

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
    const { configPath } = view.run;
    const device = fs.existsSync(configPath) ? readConfigPlan(configPath).device : view.run.device?.kind === 'cpu' ? 'cpu' : 'auto';
    const request = { configPath, resumeDir: view.dir, ...(fork ? { checkpoint: checkpoint.dir } : {}) };
    const label = fork ? `${view.run.name} from step ${checkpoint.step} (new run)` : `${view.run.name} (resume)`;
    ctx.manager.enqueue([{ request, device, label }]);
    ctx.log.info(
      fork
        ? `queued a new run from ${path.relative(view.dir, checkpoint.dir)} of ${view.dir} (the original keeps its later checkpoints)`
        : `queued resume of ${view.dir}`,
    );
  };
}
