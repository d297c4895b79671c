// run.json of one run: created when the trainer starts, rewritten atomically on every change and
// on a heartbeat timer; only the trainer writes it.
import { join } from 'node:path';
import { processStartMs as startOfProcess } from '../../../language-server/src/lib/run-folder/reader';
import { HEARTBEAT_INTERVAL_S, PROTOCOL_VERSION, type RunError, type RunJson, type RunStatus, type RunSummary } from '../protocol';
import { writeJsonAtomic } from './atomic';

/** This process's start time (ms since epoch): the process table's, as the readers compare it. */
export function processStartMs(): number {
  return startOfProcess(process.pid) ?? Date.now() - process.uptime() * 1000;
}

export class RunRecord {
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    readonly runDir: string,
    private json: RunJson,
  ) {}

  static create(runDir: string, init: Omit<RunJson, 'protocolVersion' | 'pid' | 'processStartMs' | 'heartbeatMs' | 'heartbeatIntervalS' | 'status'>): RunRecord {
    const record = new RunRecord(runDir, {
      protocolVersion: PROTOCOL_VERSION,
      status: 'running',
      pid: process.pid,
      processStartMs: processStartMs(),
      heartbeatMs: Date.now(),
      heartbeatIntervalS: HEARTBEAT_INTERVAL_S,
      ...init,
    });
    record.write();
    return record;
  }

  get value(): Readonly<RunJson> {
    return this.json;
  }

  update(patch: Partial<RunJson>): void {
    this.json = { ...this.json, ...patch };
    this.write();
  }

  startHeartbeat(): void {
    this.heartbeat = setInterval(() => this.update({ heartbeatMs: Date.now() }), HEARTBEAT_INTERVAL_S * 1000);
    this.heartbeat.unref();
  }

  finish(status: Exclude<RunStatus, 'running'>, extra: { error?: RunError; summary?: RunSummary } = {}): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.update({ status, endedMs: Date.now(), heartbeatMs: Date.now(), ...extra });
  }

  private write(): void {
    writeJsonAtomic(join(this.runDir, 'run.json'), this.json);
  }
}

export { readRunJsonStrict as readRunJson } from '../../../language-server/src/lib/run-folder/reader';
