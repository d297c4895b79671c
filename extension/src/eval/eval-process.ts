// Runs `dist/cli.js eval --run DIR --tasks a,b [--limit N] [--checkpoint ...] --ipc` in a child
// process for "Evaluate Run" (the host never loads the addon): plain Node, no shell, the CLI's
// EvalMessages as progress and one outcome; a stop is the IPC message {type:'stop'}, then SIGTERM.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { isEvalMessage, type EvalMessage, type EvalSummary, type HostMessage } from '../../../native/trainer/protocol';

/** What to evaluate: a run folder (its final adapter or one checkpoint), which tasks, how many documents. */
export interface EvalRequest {
  runDir: string;
  tasks: string[];
  /** Documents per task; null = all. */
  limit: number | null;
  /** A checkpoint folder relative to the run (`checkpoints/step-000200`); undefined = the final adapter. */
  checkpoint?: string;
  /** A folder of custom task files beside the run's config (the CLI also searches eval.data_dir). */
  taskDir?: string;
}

export type EvalProgress = Extract<EvalMessage, { type: 'eval-progress' }>;

/** How an evaluation ended: with the summary the CLI wrote to run.json (completed or stopped), or an error. */
export type EvalOutcome =
  { kind: 'done'; summary: EvalSummary } | { kind: 'stopped' } | { kind: 'error'; code: string; message: string; hint?: string };

/** Seconds a stopped child gets to write summary.eval 'stopped' before SIGTERM. */
export const STOP_GRACE_MS = 10_000;
/** The last characters of the child's stderr kept for an error message. */
const STDERR_LIMIT = 4000;

export function evalArgs(request: EvalRequest): string[] {
  const args = ['eval', '--run', request.runDir, '--tasks', request.tasks.join(',')];
  if (request.limit !== null) args.push('--limit', String(request.limit));
  if (request.checkpoint) args.push('--checkpoint', request.checkpoint);
  if (request.taskDir) args.push('--task-dir', request.taskDir);
  args.push('--ipc');
  return args;
}

/** Plain Node (ELECTRON_RUN_AS_NODE), no inherited --inspect or loaders; stderr kept for the error. */
export function evalForkOptions(cwd: string, threads = 0, env: NodeJS.ProcessEnv = process.env): ForkOptions {
  const childEnv: NodeJS.ProcessEnv = { ...env, ELECTRON_RUN_AS_NODE: '1' };
  delete childEnv.NODE_OPTIONS;
  if (threads > 0) childEnv.LORALAB_THREADS = String(threads);
  return { cwd, env: childEnv, execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' };
}

/** The last non-empty lines of a child's output, for an error without an eval-error message. */
function lastLines(text: string, count = 6): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join('\n');
}

/**
 * One `lora-lab eval --ipc` child. `run()` resolves once with the outcome; `stop()` asks the child to
 * stop (it writes summary.eval 'stopped' and exits), escalating to SIGTERM after `graceMs`.
 */
export class EvalChild {
  private child: ChildProcess | undefined;
  private stopRequested = false;
  private stopTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly entry: string,
    private readonly onProgress: (progress: EvalProgress) => void,
    private readonly log: (level: 'info' | 'warn', line: string) => void = () => {},
    private readonly graceMs = STOP_GRACE_MS,
  ) {}

  get stopping(): boolean {
    return this.stopRequested;
  }

  run(request: EvalRequest, options: ForkOptions): Promise<EvalOutcome> {
    return new Promise((resolve) => {
      let stderr = '';
      let settled = false;
      let result: EvalOutcome | undefined;
      const finish = (outcome: EvalOutcome) => {
        if (settled) return;
        settled = true;
        if (this.stopTimer) clearTimeout(this.stopTimer);
        this.child = undefined;
        resolve(outcome);
      };
      let child: ChildProcess;
      try {
        child = fork(this.entry, evalArgs(request), options);
      } catch (error) {
        finish({ kind: 'error', code: 'E_EVAL_START', message: `could not start ${this.entry}: ${(error as Error).message}` });
        return;
      }
      this.child = child;
      const onText = (level: 'info' | 'warn') => (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (level === 'warn') stderr = (stderr + text).slice(-STDERR_LIMIT);
        for (const line of text.split('\n').filter((l) => l.trim())) this.log(level, line);
      };
      child.stdout?.on('data', onText('info'));
      child.stderr?.on('data', onText('warn'));
      child.on('message', (message: unknown) => {
        if (!isEvalMessage(message)) return;
        if (message.type === 'eval-progress') this.onProgress(message);
        // The outcome is kept until the child exits, so a caller never sees a half-written run.json.
        else if (message.type === 'eval-done') result = { kind: 'done', summary: message.summary };
        else result = { kind: 'error', code: message.code, message: message.message, hint: message.hint };
      });
      child.on('error', (error) => finish({ kind: 'error', code: 'E_EVAL_START', message: `lora-lab eval failed: ${error.message}` }));
      child.on('exit', (code, signal) => {
        if (result) return finish(result);
        if (this.stopRequested) return finish({ kind: 'stopped' });
        const detail = lastLines(stderr) || `it ended (${signal ?? `exit code ${code}`}) without a result`;
        finish({ kind: 'error', code: 'E_EVAL_EXIT', message: `lora-lab eval ${detail}` });
      });
      if (this.stopRequested) this.stop();
    });
  }

  /** Asks the child to stop at its next safe point; SIGTERM after the grace period. Safe to call twice. */
  stop(): void {
    this.stopRequested = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || this.stopTimer) return;
    const message: HostMessage = { type: 'stop' };
    if (child.connected) child.send(message, (error) => error && child.kill('SIGTERM'));
    else child.kill('SIGTERM');
    this.stopTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }, this.graceMs);
    this.stopTimer.unref?.();
  }
}
