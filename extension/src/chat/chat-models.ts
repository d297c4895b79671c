// The chat's model children: one `dist/cli.js chat-serve --checkpoint DIR` per base model, shared by
// every chat panel on that model, started on the first acquire and shut down when the last panel
// lets go. The host never loads a model itself.
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import * as path from 'node:path';
import { CHAT_SERVE_COMMAND, isChatToHost, type ChatToHost, type HostToChat } from '../../../native/trainer/chat-protocol';

/** Fork options of a chat child: plain Node, no inherited NODE_OPTIONS, stderr piped to the log, IPC. */
export function chatForkOptions(cwd: string, threads = 0, env: NodeJS.ProcessEnv = process.env): ForkOptions {
  const childEnv: NodeJS.ProcessEnv = { ...env, ELECTRON_RUN_AS_NODE: '1' };
  delete childEnv.NODE_OPTIONS;
  if (threads > 0) childEnv.LORALAB_THREADS = String(threads);
  return { cwd, env: childEnv, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' };
}

export function chatArgs(checkpoint: string): string[] {
  return [CHAT_SERVE_COMMAND, '--checkpoint', checkpoint];
}

type Listener = (message: ChatToHost) => void;

/** One child process serving one base model. */
export class ChatModel {
  private readonly listeners = new Set<Listener>();
  /** The last 'ready' / 'load-failed' (replayed to late subscribers), or an exit without one. */
  status: Extract<ChatToHost, { type: 'ready' | 'load-failed' }> | null = null;
  users = 0;
  private exited = false;

  constructor(
    readonly checkpoint: string,
    private readonly child: ChildProcess,
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void,
  ) {
    child.on('message', (message: unknown) => {
      if (!isChatToHost(message)) return;
      if (message.type === 'ready' || message.type === 'load-failed') this.status = message;
      if (message.type === 'ready')
        log('info', `chat model ready: ${checkpoint} on ${message.device} (${message.loadSeconds.toFixed(1)} s)`);
      if (message.type === 'load-failed') log('error', `chat model failed to load: ${message.message}`);
      for (const listener of [...this.listeners]) listener(message);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim()))
        log('warn', `[chat] ${line}`);
    });
    child.on('error', (error) => this.onExit(`the chat process failed: ${error.message}`));
    child.on('exit', (code, signal) => this.onExit(`the chat process exited (${signal ?? `code ${code}`})`));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Subscribes; replays the load status when it is known. */
  subscribe(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    if (this.status) listener(this.status);
    return { dispose: () => this.listeners.delete(listener) };
  }

  send(message: HostToChat): boolean {
    if (this.exited || !this.child.connected) return false;
    this.child.send(message);
    return true;
  }

  /** Asks the child to free the model and exit; kills it when it has not after `graceMs`. */
  shutdown(graceMs = 5000): void {
    if (this.exited) return;
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, graceMs);
    timer.unref?.();
  }

  private onExit(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    if (!this.status || this.status.type === 'ready') {
      const failed: ChatToHost = { type: 'load-failed', code: 'E_EXITED', message: `${reason}; reopen the chat to start it again` };
      if (!this.status) this.status = failed;
      for (const listener of [...this.listeners]) listener(failed);
    }
    this.log('info', `chat model closed: ${this.checkpoint} (${reason})`);
  }
}

export interface ChatModelsOptions {
  /** dist/cli.js */
  entry: string;
  threads: () => number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Replaceable in tests. */
  spawn?: (entry: string, args: string[], options: ForkOptions) => ChildProcess;
}

/** The children by base model folder, reference-counted by the panels using them. */
export class ChatModels {
  private readonly models = new Map<string, ChatModel>();

  constructor(private readonly options: ChatModelsOptions) {}

  /** The child of `checkpoint` (started now when none is running); release() it when done. */
  acquire(checkpoint: string): ChatModel {
    const key = path.resolve(checkpoint);
    let model = this.models.get(key);
    if (!model || !model.alive) {
      const spawn = this.options.spawn ?? fork;
      const child = spawn(this.options.entry, chatArgs(key), chatForkOptions(path.dirname(key), this.options.threads()));
      model = new ChatModel(key, child, this.options.log);
      this.models.set(key, model);
      this.options.log('info', `chat model starting: ${key} (pid ${child.pid ?? '?'})`);
    }
    model.users++;
    return model;
  }

  release(model: ChatModel): void {
    model.users = Math.max(0, model.users - 1);
    if (model.users > 0) return;
    if (this.models.get(model.checkpoint) === model) this.models.delete(model.checkpoint);
    model.shutdown();
  }

  /** Running children (for tests and the log). */
  running(): ChatModel[] {
    return [...this.models.values()];
  }

  dispose(): void {
    for (const model of this.models.values()) model.shutdown(1000);
    this.models.clear();
  }
}
