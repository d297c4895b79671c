// Runs the bundled `lora-lab` CLI (dist/cli.js) as a child process for tests: to completion, or
// streaming its --json events so a test can act (kill, signal) at a chosen event.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TrainerEvent } from '../../../native/trainer/protocol';

/** The CLI under test; LORALAB_TEST_CLI points the tests at another build (e.g. to show a test fails on old code). */
export const CLI = process.env.LORALAB_TEST_CLI ?? join(__dirname, '../../../dist/cli.js');

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: options.cwd,
    env: { ...process.env, LORALAB_THREADS: '1', ...options.env },
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** Starts `train ... --json` and calls onEvent for every event; resolves with the exit status. */
export function trainWithEvents(
  args: string[],
  onEvent: (event: TrainerEvent, child: ChildProcess) => void,
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; signal: NodeJS.Signals | null; events: TrainerEvent[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', ...args, '--json'], { env: { ...process.env, LORALAB_THREADS: '1', ...env } });
    const events: TrainerEvent[] = [];
    let buffer = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.trim()) continue;
        const event = JSON.parse(line) as TrainerEvent;
        events.push(event);
        onEvent(event, child);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, events, stderr }));
  });
}
