// "LoRA Lab: Evaluate Run" (palette, Runs view context menu, the dashboard and comparison panels):
// which runs (a node, the nodes of a multi-selection, a run folder or one of its checkpoint folders,
// or a pick), then extension/src/eval/evaluation.ts asks for tasks and limit and runs `lora-lab eval`.
import * as path from 'node:path';
import type { Cmd, Ctx } from '../context';
import { evaluateTargets, type EvalTarget } from '../eval/evaluation';
import { allowedByTrust, resolveRun, runDirsOfArgs } from './pick-run';

/** States whose runs can be evaluated (the CLI takes a stopped run's newest checkpoint when it has no final adapter). */
export const EVALUATE_STATES = ['completed', 'stopped'] as const;

/** A checkpoint folder argument (`<run>/checkpoints/step-N`): the run folder and the relative checkpoint. */
export function checkpointOfPath(dir: string): { runDir: string; checkpoint: string } | undefined {
  const parent = path.dirname(dir);
  if (path.basename(parent) !== 'checkpoints' || !/^step-\d+$/.test(path.basename(dir))) return undefined;
  return { runDir: path.dirname(parent), checkpoint: `checkpoints/${path.basename(dir)}` };
}

export function evaluateRun(ctx: Ctx): Cmd {
  return async (arg?: unknown, selection?: unknown) => {
    if (!allowedByTrust(ctx, 'evaluate')) return;
    const dirs = runDirsOfArgs(arg, selection, { checkpointFolders: true });
    // Without --checkpoint the CLI evaluates the final adapter (or model), else the newest checkpoint.
    const targets: EvalTarget[] = [];
    if (dirs.length === 0) {
      const view = await resolveRun(ctx, undefined, EVALUATE_STATES, 'Run to evaluate');
      if (view) targets.push({ view });
    }
    for (const dir of dirs) {
      const fromCheckpoint = checkpointOfPath(path.resolve(dir));
      const view = await resolveRun(ctx, fromCheckpoint?.runDir ?? dir, EVALUATE_STATES, 'Run to evaluate');
      if (view) targets.push({ view, checkpoint: fromCheckpoint?.checkpoint });
    }
    await evaluateTargets(ctx, targets);
  };
}
