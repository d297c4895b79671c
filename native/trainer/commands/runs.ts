// `lora-lab runs [DIR]`: a table of the runs in a folder (default: ./out/lora): name, status
// (crashed when the heartbeat is stale without a final status), step, final loss, peak memory, time.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HEARTBEAT_STALE_S, type RunJson, type RunState } from '../protocol';
import { readMetrics } from '../run/metrics';
import { readRunJson } from '../run/run-record';
import { formatDuration } from '../../../language-server/src/lib/format';
import { takeOptions, UsageError } from './args';
import { EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export interface RunRow {
  dir: string;
  name: string;
  state: RunState;
  step: number;
  totalSteps: number;
  loss: number | null;
  peakBytes: number | null;
  timeS: number | null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function runState(run: RunJson, nowMs: number = Date.now()): RunState {
  if (run.status !== 'running') return run.status;
  const stale = nowMs - run.heartbeatMs > HEARTBEAT_STALE_S * 1000;
  return stale || !pidAlive(run.pid) ? 'crashed' : 'running';
}

export function listRuns(folder: string): RunRow[] {
  if (!existsSync(folder)) return [];
  const rows: RunRow[] = [];
  for (const name of readdirSync(folder)) {
    const dir = join(folder, name);
    if (!existsSync(join(dir, 'run.json'))) continue;
    let run: RunJson;
    try {
      run = readRunJson(dir);
    } catch {
      continue;
    }
    const trainLines = readMetrics(join(dir, 'metrics.jsonl')).filter((l) => l.kind === 'train');
    const last = trainLines.at(-1);
    rows.push({
      dir,
      name: run.name,
      state: runState(run),
      step: run.step,
      totalSteps: run.totalSteps,
      loss: run.summary?.finalTrainLoss ?? (last && last.kind === 'train' ? last.loss : null),
      peakBytes: run.summary?.peakBytes ?? (last && last.kind === 'train' ? last.peak_bytes : null),
      timeS: run.summary?.trainTimeS ?? (last && last.kind === 'train' ? last.elapsed_s : null),
    });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

export function formatRunsTable(rows: RunRow[]): string {
  const header = ['name', 'status', 'step', 'loss', 'peak MiB', 'time'];
  const body = rows.map((r) => [
    r.name,
    r.state,
    `${r.step}/${r.totalSteps}`,
    r.loss === null ? '-' : r.loss.toFixed(4),
    r.peakBytes === null ? '-' : (r.peakBytes / 2 ** 20).toFixed(1),
    formatDuration(r.timeS),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n') + '\n';
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'List runs with status, step, loss, memory and time',
  usage: 'lora-lab runs [DIR] [--json]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    let folder: string;
    let json = false;
    try {
      const { flags, positional } = takeOptions(args, [], ['--json']);
      if (positional.length > 1) throw new UsageError('expected at most one folder');
      folder = resolve(positional[0] ?? 'out/lora');
      json = flags.has('--json');
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`lora-lab runs: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const rows = listRuns(folder);
    if (json) out.stdout(JSON.stringify(rows, null, 2) + '\n');
    else out.stdout(rows.length ? formatRunsTable(rows) : `no runs in ${folder}\n`);
    return EXIT_OK;
  },
};
