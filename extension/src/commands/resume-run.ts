// "LoRA Lab: Resume Run": queues a stopped, failed or crashed run again from its last checkpoint
// (`train CONFIG --resume RUN_DIR`, with the same sweep variant). Refused in untrusted workspaces.
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
      void vscode.window.showInformationMessage(`LoRA Lab: ${view.run.name} is ${view.state}; only stopped, failed or crashed runs resume.`);
      return;
    }
    const { configPath } = view.run;
    if (!fs.existsSync(configPath)) {
      void vscode.window.showErrorMessage(`LoRA Lab: cannot resume ${view.run.name}: its config ${configPath} no longer exists.`);
      return;
    }
    const device = readConfigPlan(configPath).device;
    ctx.manager.enqueue([{ request: { configPath, variant: view.run.sweep?.variant, resumeDir: view.dir }, device, label: `${view.run.name} (resume)` }]);
    ctx.log.info(`queued resume of ${view.dir}`);
  };
}
