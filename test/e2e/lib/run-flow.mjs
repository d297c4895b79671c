// Following a run a test started: which trainer processes appeared, when its run folder exists,
// and when run.json reaches a status (failing at once if the run failed instead).
import { join } from 'node:path';
import { trainerProcesses } from './processes.mjs';
import { readRunJson, runFolders } from './run-folders.mjs';
import { modalDialogText } from './ui.mjs';
import { WaitAborted, waitFor } from './wait.mjs';

/** Polls the process list every 50 ms; `seen` maps pid -> command line of every trainer seen. */
export function watchTrainers(session) {
  const seen = new Map();
  const poll = () => {
    for (const { pid, argv } of trainerProcesses(session)) seen.set(pid, argv.join(' '));
  };
  poll();
  const timer = setInterval(poll, 50);
  return { seen, stop: () => clearInterval(timer) };
}

/**
 * The run folder (holding run.json) under the workspace's `outDir` that is not in `before`; a
 * modal dialog (the host refusing the config, or a command error) ends the wait at once.
 */
export async function waitForNewRunFolder(session, outDir = 'out/lora', before = [], timeoutMs = 60_000) {
  const dir = join(session.workspace, outDir);
  return waitFor(
    `a new run folder under ${outDir}`,
    async () => {
      const dialog = await modalDialogText(session.page);
      if (dialog) throw new WaitAborted(`a modal dialog is open: ${dialog}`);
      return runFolders(dir).find((runDir) => !before.includes(runDir));
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** Waits until run.json has `status`; a run that fails (or reaches another final status) ends the wait at once. */
export async function waitForRunStatus(runDir, status, timeoutMs) {
  return waitFor(
    `run.json of ${runDir} to say ${status}`,
    () => {
      const run = readRunJson(runDir);
      if (run.status === status) return run;
      if (run.status !== 'running') {
        throw new WaitAborted(
          `the run is ${run.status}${run.error ? `: ${run.error.code}: ${run.error.message}` : ''} (see ${join(runDir, 'train.log')})`,
        );
      }
      throw new Error(`status ${run.status}, step ${run.step}/${run.totalSteps}`);
    },
    { timeoutMs, intervalMs: 250 },
  );
}
