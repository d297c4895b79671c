// The run manager: a visible queue of training requests, the trainers the host forked (typed IPC
// events), runs reattached after a window reload (pid only), and stop with escalation.
// It never writes into a run folder and has no VS Code dependency (unit-tested with a real trainer).
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isTrainerEvent, type HostMessage, type RunJson, type TrainerEvent } from '../../native/trainer/protocol';
import { checkProcess, readRunJson, type ProcessCheck } from '../../language-server/src/lib/run-folder/reader';
import { startable } from './run-queue';
import { Signal } from './signal';
import { forkTrainer, trainArgs, trainerForkOptions, type TrainRequest } from './trainer-process';

export interface QueuedRun {
  id: number;
  request: TrainRequest;
  /** Queue device key (see config-file.ts deviceKey). */
  device: string;
  label: string;
}

export interface ActiveRun {
  id: number;
  label: string;
  device: string;
  pid: number;
  /** Known from the 'started' event (forked) or from the start (reattached). */
  runDir?: string;
  name?: string;
  /** The forked trainer; undefined for a run reattached by pid. */
  child?: ChildProcess;
  processStartMs?: number;
  step?: number;
  totalSteps?: number;
  etaS?: number | null;
  loss?: number;
  /** The trainer acknowledged a stop and expects to be done within expectedS. */
  stopAck?: { expectedS: number };
  stopRequested?: boolean;
  final?: 'done' | 'failed' | 'stopped';
  /** Host-owned file with the trainer's stdout and stderr. */
  outputFile?: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RunManagerOptions {
  /** dist/cli.js */
  trainerEntry: string;
  /** A host-owned folder (the extension's log folder) for the trainers' stdout/stderr files. */
  outputDir: string;
  maxConcurrentRuns: () => number;
  threads: () => number;
  log: (level: LogLevel, message: string) => void;
  /** How long a trainer has to acknowledge a stop, extra time past its estimate, and poll period. */
  timing?: Partial<StopTiming>;
  checkProcess?: (pid: number, startMs: number | undefined) => ProcessCheck;
}

export interface StopTiming {
  ackTimeoutMs: number;
  graceMs: number;
  pollMs: number;
}

export type StopOutcome = 'dequeued' | 'stopped' | 'terminated' | 'killed' | 'not-running';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class RunManager {
  private readonly queued: QueuedRun[] = [];
  private readonly running: ActiveRun[] = [];
  private nextId = 1;
  private readonly timers = new Map<ActiveRun, NodeJS.Timeout>();
  private readonly timing: StopTiming;
  private readonly check: (pid: number, startMs: number | undefined) => ProcessCheck;
  /** A typed trainer event of a forked run. */
  readonly onEvent = new Signal<[ActiveRun, TrainerEvent]>();
  /** The queue or the set of active runs changed (or an active run's progress). */
  readonly onChanged = new Signal<[]>();
  /** An active run's process ended (forked: exit code / signal; reattached: found dead). */
  readonly onExited = new Signal<[ActiveRun, number | null, string | null]>();

  constructor(private readonly options: RunManagerOptions) {
    this.timing = { ackTimeoutMs: 30_000, graceMs: 10_000, pollMs: 2_000, ...options.timing };
    this.check = options.checkProcess ?? checkProcess;
  }

  queue(): readonly QueuedRun[] {
    return this.queued;
  }

  active(): readonly ActiveRun[] {
    return this.running;
  }

  /** The active run of a run folder, if the host forked or reattached it. */
  activeByDir(runDir: string): ActiveRun | undefined {
    const wanted = path.resolve(runDir);
    return this.running.find((r) => r.runDir !== undefined && path.resolve(r.runDir) === wanted);
  }

  /** Appends requests to the queue (in order) and starts what the device limits allow. */
  enqueue(entries: Omit<QueuedRun, 'id'>[]): QueuedRun[] {
    const added = entries.map((e) => ({ ...e, id: this.nextId++ }));
    this.queued.push(...added);
    this.onChanged.fire();
    this.pump();
    return added;
  }

  /** Starts queued runs while their devices have room. */
  pump(): void {
    for (const entry of startable(this.queued, this.running, this.options.maxConcurrentRuns())) {
      this.queued.splice(this.queued.indexOf(entry), 1);
      this.start(entry);
    }
    this.onChanged.fire();
  }

  private start(entry: QueuedRun): void {
    const { request } = entry;
    fs.mkdirSync(this.options.outputDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const outputFile = path.join(this.options.outputDir, `trainer-${stamp}-${entry.id}.log`);
    const fd = fs.openSync(outputFile, 'a');
    const run: ActiveRun = { id: entry.id, label: entry.label, device: entry.device, pid: 0, outputFile };
    let child: ChildProcess;
    try {
      // relative paths of a config resolve against its folder; a resume reads the run folder's copy
      const cwd = path.dirname(request.resumeDir ?? request.configPath);
      child = forkTrainer(this.options.trainerEntry, trainArgs(request), trainerForkOptions(cwd, fd, this.options.threads()));
    } catch (err) {
      this.options.log('error', `could not start the trainer for ${entry.label}: ${(err as Error).message}`);
      return;
    } finally {
      fs.closeSync(fd); // the child holds its own descriptor
    }
    run.child = child;
    run.pid = child.pid ?? 0;
    this.running.push(run);
    this.options.log('info', `started the trainer for ${entry.label} (pid ${run.pid})`);
    child.on('message', (message) => {
      if (isTrainerEvent(message)) this.handle(run, message);
    });
    child.on('error', (err) => {
      this.options.log('error', `trainer ${entry.label}: ${err.message}`);
      // A fork that never spawned (missing node, missing cwd) emits no 'exit'.
      if (child.pid === undefined) this.finish(run, null, null);
    });
    child.on('exit', (code, signal) => this.finish(run, code, signal));
  }

  private handle(run: ActiveRun, event: TrainerEvent): void {
    switch (event.type) {
      case 'started':
        run.runDir = event.runDir;
        run.name = event.name;
        run.totalSteps = event.totalSteps;
        run.pid = event.pid || run.pid;
        run.final = undefined; // the next variant of a sweep
        run.step = undefined;
        run.loss = undefined;
        break;
      case 'step':
        run.step = event.line.step;
        run.totalSteps = event.totalSteps;
        run.etaS = event.etaS;
        run.loss = event.line.loss;
        break;
      case 'stopping':
        run.stopAck = { expectedS: event.expectedS };
        break;
      case 'stopped':
      case 'done':
      case 'failed':
        run.final = event.type;
        if (event.type === 'failed') this.options.log('error', `${run.name ?? run.label}: ${event.error.code}: ${event.error.message}`);
        break;
      case 'log':
        this.options.log(event.level, `[${run.name ?? run.label}] ${event.message}`);
        break;
      default:
        break;
    }
    this.onEvent.fire(run, event);
    if (event.type !== 'log') this.onChanged.fire();
  }

  private finish(run: ActiveRun, code: number | null, signal: string | null): void {
    const index = this.running.indexOf(run);
    if (index < 0) return;
    this.running.splice(index, 1);
    const timer = this.timers.get(run);
    if (timer) clearInterval(timer);
    this.timers.delete(run);
    if (run.child && !run.final && (code !== 0 || signal)) {
      const tail = run.outputFile ? tailOf(run.outputFile, 2000) : '';
      this.options.log('error', `trainer ${run.name ?? run.label} exited with ${signal ?? `code ${code}`}${tail ? `:\n${tail}` : ''}`);
    } else {
      this.options.log('info', `trainer ${run.name ?? run.label} ended (${run.final ?? signal ?? `code ${code}`})`);
    }
    this.onExited.fire(run, code, signal);
    this.pump();
  }

  /**
   * Adopts a live run a previous host started (after a window reload): its pid and start time
   * must match a live process. The run's files are tailed by the Runs store; here it counts for
   * the device limit and can be stopped by signal. Returns undefined for a dead or known run.
   */
  attach(runDir: string, run: RunJson = readRunJson(runDir) as RunJson): ActiveRun | undefined {
    if (!run || run.status !== 'running' || this.activeByDir(runDir)) return undefined;
    if (this.check(run.pid, run.processStartMs) === 'dead') return undefined;
    const active: ActiveRun = {
      id: this.nextId++,
      label: run.name,
      name: run.name,
      runDir,
      device: run.device?.kind === 'cpu' ? 'cpu' : 'cuda:0',
      pid: run.pid,
      processStartMs: run.processStartMs,
      step: run.step,
      totalSteps: run.totalSteps,
    };
    // A sweep's trainer goes on to its next variant (a new run folder, the same pid): the
    // earlier variant's entry gives way.
    this.running.push(active);
    for (const earlier of this.running.filter((r) => r !== active && !r.child && r.pid === run.pid)) this.finish(earlier, null, null);
    const timer = setInterval(() => {
      const status = readRunJson(runDir)?.status; // undefined while the file is being replaced
      if (this.check(active.pid, active.processStartMs) === 'dead' || (status !== undefined && status !== 'running'))
        this.finish(active, null, null);
    }, this.timing.pollMs);
    timer.unref();
    this.timers.set(active, timer);
    this.options.log('info', `reattached to ${run.name} (pid ${run.pid})`);
    this.onChanged.fire();
    return active;
  }

  /** Removes a queued request. */
  dequeue(id: number): boolean {
    const index = this.queued.findIndex((q) => q.id === id);
    if (index < 0) return false;
    this.queued.splice(index, 1);
    this.onChanged.fire();
    return true;
  }

  /**
   * Stops a run: the stop message (or SIGTERM for a reattached run), then waits for the trainer's
   * acknowledgement and its announced time (+ grace) before SIGTERM, then SIGKILL.
   */
  async stop(target: { queuedId?: number; runDir?: string; activeId?: number }): Promise<StopOutcome> {
    if (target.queuedId !== undefined && this.dequeue(target.queuedId)) return 'dequeued';
    const run = target.runDir ? this.activeByDir(target.runDir) : this.running.find((r) => r.id === target.activeId);
    if (!run) return 'not-running';
    run.stopRequested = true;
    this.onChanged.fire();
    const gone = () => !this.running.includes(run) || this.check(run.pid, run.processStartMs) === 'dead';
    const { ackTimeoutMs, graceMs } = this.timing;
    let sentTerm = false;
    if (run.child?.connected) {
      run.child.send({ type: 'stop' } satisfies HostMessage);
    } else {
      this.signal(run, 'SIGTERM');
      sentTerm = true;
    }
    const acked = () => run.stopAck ?? fileAck(run);
    await waitUntil(() => gone() || acked() !== undefined, ackTimeoutMs);
    const ack = acked();
    if (!gone() && ack) await waitUntil(gone, ack.expectedS * 1000 + graceMs);
    if (gone()) return this.settle(run, 'stopped');
    if (!sentTerm) {
      this.options.log('warn', `${run.name ?? run.label} did not stop in time; sending SIGTERM`);
      this.signal(run, 'SIGTERM');
      if (await waitUntil(gone, graceMs)) return this.settle(run, 'terminated');
    }
    this.options.log('warn', `${run.name ?? run.label} did not stop after SIGTERM; sending SIGKILL`);
    this.signal(run, 'SIGKILL');
    await waitUntil(gone, graceMs);
    return this.settle(run, 'killed');
  }

  /**
   * Stops one variant of a sweep: the trainer saves a checkpoint, marks that run stopped and goes on
   * with the next variant (IPC stop with scope 'variant', or SIGUSR2 for a reattached trainer). No
   * escalation: killing the process would end the whole sweep. Resolves when the variant's run.json
   * is no longer running (or the trainer is gone): 'stopped', or 'not-running' / 'timeout'.
   */
  async stopVariant(runDir: string): Promise<'stopped' | 'not-running' | 'timeout'> {
    const run = this.activeByDir(runDir);
    if (!run) return 'not-running';
    if (run.child?.connected) run.child.send({ type: 'stop', scope: 'variant', runDir } satisfies HostMessage);
    else this.signal(run, 'SIGUSR2');
    const finished = () => {
      const status = readRunJson(runDir)?.status;
      return (status !== undefined && status !== 'running') || this.check(run.pid, run.processStartMs) === 'dead';
    };
    const { ackTimeoutMs, graceMs } = this.timing;
    await waitUntil(() => finished() || fileAck({ ...run, child: undefined, runDir }) !== undefined, ackTimeoutMs);
    const ack = fileAck({ ...run, child: undefined, runDir });
    const done = finished() || (await waitUntil(finished, (ack?.expectedS ?? 0) * 1000 + graceMs));
    this.onChanged.fire();
    return done ? 'stopped' : 'timeout';
  }

  /** A reattached run found dead leaves the active list now (not at the next poll). */
  private settle(run: ActiveRun, outcome: StopOutcome): StopOutcome {
    if (!run.child && this.running.includes(run) && this.check(run.pid, run.processStartMs) === 'dead') this.finish(run, null, null);
    return outcome;
  }

  private signal(run: ActiveRun, signal: NodeJS.Signals): void {
    try {
      if (run.child) run.child.kill(signal);
      else process.kill(run.pid, signal);
    } catch (err) {
      this.options.log('debug', `${signal} to ${run.pid}: ${(err as Error).message}`);
    }
  }

  /** Stops watching reattached pids. Trainers keep running (they are detached from the host). */
  dispose(): void {
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
    for (const run of this.running) run.child?.disconnect?.();
  }
}

/** A reattached run's acknowledgement, which the trainer writes into run.json. */
function fileAck(run: ActiveRun): { expectedS: number } | undefined {
  if (run.child || !run.runDir) return undefined;
  const stopping = readRunJson(run.runDir)?.stopping;
  return stopping ? { expectedS: stopping.expectedS } : undefined;
}

/** Polls `predicate` every 50 ms until it holds (true) or `timeoutMs` passed (false). */
export async function waitUntil(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** The last `bytes` of a text file (for a trainer's crash output). */
export function tailOf(file: string, bytes: number): string {
  try {
    const text = fs.readFileSync(file);
    return text
      .subarray(Math.max(0, text.length - bytes))
      .toString('utf8')
      .trim();
  } catch {
    return '';
  }
}
