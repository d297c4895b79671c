// How the host starts the bundled trainer (dist/cli.js), as ARCHITECTURE.md says: plain Node
// (ELECTRON_RUN_AS_NODE=1), empty execArgv, no shell, an argument array, output into a file.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';

/** What to train: a config (one sweep variant of it), or a stopped run to resume. */
export interface TrainRequest {
  configPath: string;
  /** Sweep variant index; undefined for a config without a sweep. */
  variant?: number;
  /** Run folder to resume from its last checkpoint. */
  resumeDir?: string;
  /** `--set key=value` for a resume (only the keys a checkpoint allows, e.g. train.learning_rate). */
  resumeSets?: string[];
  /** With resumeDir: the checkpoint folder to resume from; one that is not the latest forks the run into a new folder. */
  checkpoint?: string;
}

/**
 * `train CONFIG --ipc [--variant i]` (without --variant the trainer runs every variant of a sweep
 * in order, under one sweep id), or `train --resume RUN_DIR --ipc` (the run folder has its config).
 */
export function trainArgs(request: TrainRequest): string[] {
  if (request.resumeDir !== undefined)
    return [
      'train',
      '--resume',
      request.resumeDir,
      ...(request.checkpoint ? ['--checkpoint', request.checkpoint] : []),
      '--ipc',
      ...(request.resumeSets ?? []).flatMap((set) => ['--set', set]),
    ];
  const args = ['train', request.configPath, '--ipc'];
  if (request.variant !== undefined) args.push('--variant', String(request.variant));
  return args;
}

/** `merge --checkpoint BASE --adapter <run>/adapter --out <run>/merged`. */
export function mergeArgs(checkpoint: string, adapterDir: string, outDir: string): string[] {
  return ['merge', '--checkpoint', checkpoint, '--adapter', adapterDir, '--out', outDir];
}

/**
 * Fork options for the trainer. `outputFd` is a file the host opened for the child's stdout and
 * stderr (a file never blocks the trainer the way an unread pipe would); the trainer writes
 * `<run>/train.log` itself. `threads` > 0 reaches the engine as LORALAB_THREADS. NODE_OPTIONS is
 * dropped so no `--inspect` or loader of the host leaks into the trainer.
 */
export function trainerForkOptions(
  cwd: string,
  outputFd: number | 'ignore',
  threads = 0,
  env: NodeJS.ProcessEnv = process.env,
): ForkOptions {
  const childEnv: NodeJS.ProcessEnv = { ...env, ELECTRON_RUN_AS_NODE: '1' };
  delete childEnv.NODE_OPTIONS;
  if (threads > 0) childEnv.LORALAB_THREADS = String(threads);
  return {
    cwd,
    env: childEnv,
    execArgv: [],
    stdio: ['ignore', outputFd, outputFd, 'ipc'],
    // The trainer outlives a window reload; the host reattaches from run.json.
    detached: true,
    serialization: 'json',
  };
}

/** Forks `entry` (dist/cli.js) with `args`; never through a shell. */
export function forkTrainer(entry: string, args: string[], options: ForkOptions): ChildProcess {
  return fork(entry, args, options);
}
