// "LoRA Lab: Open Dashboard": the run's live dashboard beside the active editor.
import type { Cmd, Ctx } from '../context';
import { ALL_STATES, resolveRun } from './pick-run';

export function openDashboard(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const view = await resolveRun(ctx, arg, ALL_STATES, 'Run to show');
    if (view) ctx.dashboards.open(view.dir);
  };
}
