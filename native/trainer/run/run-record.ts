// run.json of one run: created when the trainer starts, rewritten atomically on every change and
// on a heartbeat timer; only the trainer writes it. A reserve file of RESERVE_BYTES is kept beside
// it while the run is open, so on a full disk the final status can still be written (the reserve
// is freed, and the record retried without indentation).
import { closeSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processStartMs as startOfProcess } from '../../../language-server/src/lib/run-folder/reader';
import { HEARTBEAT_INTERVAL_S, PROTOCOL_VERSION, type RunError, type RunJson, type RunStatus, type RunSummary } from '../protocol';
import { openExclusive, writeFileAtomic } from './atomic';
import { isDiskFull } from './failures';

export const RESERVE_FILE = '.run.json.reserve';
const RESERVE_BYTES = 256 * 1024;

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

  static create(
    runDir: string,
    init: Omit<RunJson, 'protocolVersion' | 'pid' | 'processStartMs' | 'heartbeatMs' | 'heartbeatIntervalS' | 'status'>,
  ): RunRecord {
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
    record.reserve();
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
    this.heartbeat = setInterval(() => {
      try {
        this.update({ heartbeatMs: Date.now() });
      } catch {
        // a heartbeat that cannot be written (disk full) is reported by the next step's write
      }
    }, HEARTBEAT_INTERVAL_S * 1000);
    this.heartbeat.unref();
  }

  finish(
    status: Exclude<RunStatus, 'running'>,
    extra: { error?: RunError; summary?: RunSummary; sessions?: RunJson['sessions'] } = {},
  ): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.json = { ...this.json, status, endedMs: Date.now(), heartbeatMs: Date.now(), ...extra };
    this.write(true);
    rmSync(join(this.runDir, RESERVE_FILE), { force: true });
  }

  private reserve(): void {
    const path = join(this.runDir, RESERVE_FILE);
    rmSync(path, { force: true });
    try {
      const fd = openExclusive(path);
      try {
        writeSync(fd, Buffer.alloc(RESERVE_BYTES));
      } finally {
        closeSync(fd);
      }
    } catch {
      rmSync(path, { force: true }); // no room even for the reserve: the first write says so
    }
  }

  /** `final`: the last write, which may use the reserve's space when the disk is full. */
  private write(final = false): void {
    const path = join(this.runDir, 'run.json');
    try {
      writeFileAtomic(path, JSON.stringify(this.json, null, 2) + '\n');
    } catch (error) {
      if (!final || !isDiskFull(error)) throw error;
      rmSync(join(this.runDir, RESERVE_FILE), { force: true });
      writeFileAtomic(path, JSON.stringify(this.json) + '\n');
    }
  }
}

export { readRunJsonStrict as readRunJson } from '../../../language-server/src/lib/run-folder/reader';
