// Resuming from a checkpoint that is not a run's latest: the run is forked into a new run folder
// beside it (`<name>-from-<step>`, a suffix when taken) holding its config.yaml, that checkpoint,
// its metrics.jsonl (the trainer truncates it to the step) and a run.json that records the fork
// (`forkedFrom`). The original run folder and its later checkpoints are never touched.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ConfigError } from '../../../language-server/src/config/types';
import type { RunJson } from '../protocol';
import { writeJsonAtomic } from './atomic';
import { checkpointName, listCheckpoints, readCursor } from './checkpoints';

/** The complete checkpoint `checkpoint` names in `runDir` (a path relative to it or absolute), or an error naming it. */
export function findCheckpoint(runDir: string, checkpoint: string): { step: number; path: string; latest: boolean } {
  const wanted = resolve(runDir, checkpoint);
  const all = listCheckpoints(runDir);
  const found = all.find((c) => resolve(c.path) === wanted);
  if (!found) {
    const names = all.map((c) => `checkpoints/${basename(c.path)}`).join(', ') || 'none';
    throw new ConfigError(`--checkpoint ${checkpoint}: not a complete checkpoint of ${runDir} (its checkpoints: ${names})`);
  }
  return { ...found, latest: found === all[all.length - 1] };
}

/** A free folder name beside `runDir` for a fork from `step`. */
function forkName(runDir: string, name: string, step: number): string {
  const base = `${name}-from-${step}`;
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? base : `${base}-${i}`;
    if (!existsSync(join(dirname(runDir), candidate))) return candidate;
  }
}

/** Creates the fork of `run` (in `runDir`) at `checkpoint`; returns the new folder and its name. */
export function forkRun(runDir: string, run: RunJson, checkpoint: { step: number; path: string }): { runDir: string; name: string } {
  readCursor(checkpoint.path); // a damaged checkpoint is refused before anything is written
  const name = forkName(runDir, run.name, checkpoint.step);
  const forkDir = join(dirname(runDir), name);
  mkdirSync(forkDir);
  cpSync(join(runDir, 'config.yaml'), join(forkDir, 'config.yaml'));
  if (existsSync(join(runDir, 'metrics.jsonl'))) cpSync(join(runDir, 'metrics.jsonl'), join(forkDir, 'metrics.jsonl'));
  cpSync(checkpoint.path, join(forkDir, 'checkpoints', checkpointName(checkpoint.step)), { recursive: true });
  const { endedMs: _ended, error: _error, summary: _summary, stopping: _stopping, sweep: _sweep, sessions, ...rest } = run;
  const forked: RunJson = {
    ...rest,
    name,
    status: 'stopped',
    startedMs: Date.now(),
    step: checkpoint.step,
    sessions: (sessions ?? []).filter((s) => s.toStep <= checkpoint.step),
    forkedFrom: { runDir, checkpoint: relative(runDir, checkpoint.path), step: checkpoint.step },
  };
  writeJsonAtomic(join(forkDir, 'run.json'), forked);
  return { runDir: forkDir, name };
}
