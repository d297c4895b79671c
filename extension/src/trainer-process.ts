// Forks the bundled trainer as the architecture says: plain Node (ELECTRON_RUN_AS_NODE=1), no
// inherited execArgv, no shell, an argument array, output routed to the log channel.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import * as path from 'node:path';
import type { Ctx } from './context';

export function trainerForkOptions(cwd: string, env: NodeJS.ProcessEnv = process.env): ForkOptions {
  return {
    cwd,
    env: { ...env, ELECTRON_RUN_AS_NODE: '1' },
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  };
}

export function forkTrainer(ctx: Ctx, args: string[]): ChildProcess {
  const cwd = path.dirname(args[1] ?? ctx.trainerEntry);
  const child = fork(ctx.trainerEntry, args, trainerForkOptions(cwd));
  child.stdout?.on('data', (chunk: Buffer) => ctx.log.info(chunk.toString().trimEnd()));
  child.stderr?.on('data', (chunk: Buffer) => ctx.log.warn(chunk.toString().trimEnd()));
  child.on('exit', (code) => ctx.log.info(`trainer exited with code ${code}`));
  return child;
}
