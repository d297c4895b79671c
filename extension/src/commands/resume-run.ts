// "LoRA Lab: Resume Run": queues a stopped, failed or crashed run again from its last checkpoint
// (`train --resume RUN_DIR`: the run folder holds its config). Refused in untrusted workspaces.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { readConfigPlan } from '../config-file';
import type { Cmd, Ctx } from '../context';
import { allowedByTrust, resolveRun } from './pick-run';

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
    const { configPath } = view.run;
    const device = fs.existsSync(configPath) ? readConfigPlan(configPath).device : view.run.device?.kind === 'cpu' ? 'cpu' : 'auto';
    ctx.manager.enqueue([{ request: { configPath, resumeDir: view.dir }, device, label: `${view.run.name} (resume)` }]);
    ctx.log.info(`queued resume of ${view.dir}`);
  };
}
