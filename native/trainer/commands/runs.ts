// `lora-lab runs [DIR]`: a table of the runs in a folder (default: ./out/lora): name, status,
// step, final loss, peak memory, time. Status (crashed, incomplete) comes from the shared
// run-folder reader, the same rule as the Runs view; a damaged run.json is skipped with a warning.
import { join, resolve } from 'node:path';
import type { FolderState } from '../../../language-server/src/lib/run-folder/run-files';
import { readMetrics, RunFolderError, scanRunFolder } from '../../../language-server/src/lib/run-folder/reader';
import { formatDuration } from '../../../language-server/src/lib/format';
import { takeOptions, UsageError } from './args';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export interface RunRow {
  dir: string;
  name: string;
  state: FolderState;
  step: number;
  totalSteps: number;
  loss: number | null;
  peakBytes: number | null;
  timeS: number | null;
  /** For an incomplete folder: what happened and what to do. */
  note?: string;
}

/** The runs in `folder` (through the shared reader) and a warning per folder that cannot be read. */
export function listRuns(folder: string, nowMs: number = Date.now()): { rows: RunRow[]; warnings: string[] } {
  const rows: RunRow[] = [];
  const warnings: string[] = [];
  for (const entry of scanRunFolder(folder, nowMs)) {
    const name = entry.dir.slice(folder.length + 1);
    if (entry.kind === 'unreadable') {
      warnings.push(`skipped ${entry.dir}: ${entry.error}`);
      continue;
    }
    if (entry.kind === 'incomplete') {
      rows.push({
        dir: entry.dir,
        name,
        state: 'incomplete',
        step: 0,
        totalSteps: 0,
        loss: null,
        peakBytes: null,
        timeS: null,
        note: `${entry.reason}; ${entry.todo}`,
      });
      continue;
    }
    const { run } = entry;
    const trainLines = readMetrics(join(entry.dir, 'metrics.jsonl')).filter((l) => l.kind === 'train');
    const last = trainLines.at(-1);
    rows.push({
      dir: entry.dir,
      name: run.name,
      state: entry.state,
      step: run.step ?? 0,
      totalSteps: run.totalSteps ?? 0,
      loss: run.summary?.finalTrainLoss ?? (last && last.kind === 'train' ? last.loss : null),
      peakBytes: run.summary?.peakBytes ?? (last && last.kind === 'train' ? last.peak_bytes : null),
      timeS: run.summary?.trainTimeS ?? (last && last.kind === 'train' ? last.elapsed_s : null),
    });
  }
  return { rows: rows.sort((a, b) => a.name.localeCompare(b.name)), warnings };
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
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
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
    let listed: { rows: RunRow[]; warnings: string[] };
    try {
      listed = listRuns(folder);
    } catch (error) {
      if (!(error instanceof RunFolderError)) throw error;
      out.stderr(`lora-lab runs: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    const { rows, warnings } = listed;
    for (const warning of warnings) out.stderr(`lora-lab runs: warning: ${warning}\n`);
    if (json) out.stdout(JSON.stringify(rows, null, 2) + '\n');
    else out.stdout(rows.length ? formatRunsTable(rows) : `no runs in ${folder}\n`);
    const notes = rows.filter((r) => r.note).map((r) => `${r.name}: incomplete: ${r.note}\n`);
    if (!json && notes.length) out.stdout(notes.join(''));
    return EXIT_OK;
  },
};
