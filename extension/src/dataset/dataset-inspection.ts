// Runs `dist/cli.js inspect-data CONFIG --ipc` in a child process for the dataset panel (the host
// never loads the tokenizer's work or the addon): plain Node, no shell, one run at a time per
// panel (a new start ends the old child), progress and the report as the trainer's InspectMessages.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import * as path from 'node:path';
import { isInspectMessage, type InspectMessage } from '../../../native/trainer/protocol';

/** The child's arguments: the same command as `lora-lab inspect-data CONFIG --json`, reporting over IPC. */
export function inspectArgs(configPath: string): string[] {
  return ['inspect-data', configPath, '--ipc'];
}

/** Plain Node (ELECTRON_RUN_AS_NODE), no inherited --inspect or loaders, stderr kept for an error message. */
export function inspectForkOptions(configPath: string, env: NodeJS.ProcessEnv = process.env): ForkOptions {
  const childEnv: NodeJS.ProcessEnv = { ...env, ELECTRON_RUN_AS_NODE: '1' };
  delete childEnv.NODE_OPTIONS;
  return { cwd: path.dirname(configPath), env: childEnv, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' };
}

/** The last `limit` characters of a child's stderr. */
const STDERR_LIMIT = 4000;

export class DatasetInspection {
  private child: ChildProcess | undefined;
  private generation = 0;

  constructor(
    private readonly entry: string,
    private readonly onMessage: (message: InspectMessage) => void,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts inspecting `configPath`, ending a run still in flight (its messages are dropped). */
  start(configPath: string): void {
    this.stop();
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    let stderr = '';
    let settled = false;
    const finish = (message: InspectMessage) => {
      if (settled || !current()) return;
      settled = true;
      this.child = undefined;
      this.onMessage(message);
    };
    let child: ChildProcess;
    try {
      child = fork(this.entry, inspectArgs(configPath), inspectForkOptions(configPath));
    } catch (error) {
      finish({ type: 'inspect-error', message: `could not start ${this.entry}: ${(error as Error).message}` });
      return;
    }
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_LIMIT);
    });
    child.on('message', (message: unknown) => {
      if (!current() || !isInspectMessage(message)) return;
      if (message.type === 'inspect-progress') this.onMessage(message);
      else finish(message);
    });
    child.on('error', (error) => finish({ type: 'inspect-error', message: `inspect-data failed: ${error.message}` }));
    child.on('exit', (code, signal) => {
      finish({ type: 'inspect-error', message: stderr.trim() || `inspect-data ended (${signal ?? `exit code ${code}`}) without a report` });
    });
  }

  /** Ends the child in flight, if any. */
  stop(): void {
    this.generation++;
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill();
  }

  dispose(): void {
    this.stop();
  }
}
