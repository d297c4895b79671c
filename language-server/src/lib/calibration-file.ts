// The one home of `lora-lab calibrate`'s cache ($XDG_CACHE_HOME or ~/.cache /lora-lab/calibration.json):
// where it is, its format, and which record an estimate uses. The code lens, the trade-off view and
// `lora-lab estimate` all look up through here; `lora-lab calibrate` writes (atomically) through here.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { WORK_TERMS, type Calibration } from '../estimator';

/** One device's measured throughput, as `lora-lab calibrate` stores it. */
export interface CalibrationRecord extends Calibration {
  /** Written by calibrate: `cpu:<model>:<simd path>:<threads>t` or `cuda:<index>:<name>`. */
  key: string;
  device: string;
  computePath: string;
  threads: number;
  measuredAt: string;
  /** What the steps were timed by: process CPU time (one engine thread: undisturbed by other processes) or the wall clock. */
  timeBasis?: 'cpu' | 'wall';
  /** The largest relative error of the fitted costs over the calibration runs. */
  fitError?: number;
  /** The calibration runs: model size, tokens per step, seconds per step (and what the fitted costs predict for it). */
  runs: Array<{
    label?: string;
    params: number;
    tokensPerStep: number;
    secondsPerStep: number;
    flopsPerSecond: number;
    predictedSeconds?: number;
  }>;
}

export interface CalibrationFile {
  version: 1;
  devices: Record<string, CalibrationRecord>;
}

/** $XDG_CACHE_HOME/lora-lab/calibration.json (an absolute XDG_CACHE_HOME only), else ~/.cache/lora-lab/calibration.json. */
export function calibrationFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(cacheRoot, 'lora-lab', 'calibration.json');
}

/** A calibration cache that exists but cannot be used; the message names the file and what to do. */
export class CalibrationFileError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}; delete the file or run 'lora-lab calibrate' (LoRA Lab: Calibrate) again to rewrite it`);
  }
}

/** Why a stored record cannot price a step, or null when it can. */
function recordProblem(key: string, record: unknown): string | null {
  if (!record || typeof record !== 'object' || Array.isArray(record)) return `devices["${key}"] is not an object`;
  const r = record as Partial<CalibrationRecord>;
  if (typeof r.flopsPerSecond !== 'number' || !Number.isFinite(r.flopsPerSecond) || r.flopsPerSecond <= 0)
    return `devices["${key}"].flopsPerSecond must be a positive number`;
  if (r.costs !== undefined) {
    if (!r.costs || typeof r.costs !== 'object' || Array.isArray(r.costs)) return `devices["${key}"].costs is not an object`;
    for (const [term, cost] of Object.entries(r.costs)) {
      if (!(WORK_TERMS as readonly string[]).includes(term)) return `devices["${key}"].costs.${term} is not a term of the time model`;
      if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0)
        return `devices["${key}"].costs.${term} must be a number >= 0 (seconds per unit)`;
    }
  }
  return null;
}

/**
 * The cache's records; an empty file when it does not exist yet. A file that exists but is not JSON,
 * has another version or holds a record no estimate can use throws CalibrationFileError (naming the file).
 */
export function readCalibrationFile(path = calibrationFilePath()): CalibrationFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, devices: {} };
    throw new CalibrationFileError(path, `cannot be read (${(error as Error).message})`);
  }
  let parsed: Partial<CalibrationFile>;
  try {
    parsed = JSON.parse(text) as Partial<CalibrationFile>;
  } catch (error) {
    throw new CalibrationFileError(path, `is not valid JSON (${(error as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || parsed.version !== 1)
    throw new CalibrationFileError(path, `has version ${JSON.stringify(parsed?.version)}, expected 1`);
  if (!parsed.devices || typeof parsed.devices !== 'object' || Array.isArray(parsed.devices))
    throw new CalibrationFileError(path, '"devices" must be an object of records by device key');
  for (const [key, record] of Object.entries(parsed.devices)) {
    const problem = recordProblem(key, record);
    if (problem) throw new CalibrationFileError(path, problem);
  }
  return parsed as CalibrationFile;
}

/** The file with `record` added or replacing the record of the same key (the caller writes it atomically). */
export function withCalibrationRecord(file: CalibrationFile, record: CalibrationRecord): CalibrationFile {
  return { version: 1, devices: { ...file.devices, [record.key]: record } };
}

/**
 * The calibration every estimate uses: the newest valid record of the device kind (`cpu:` or `cuda:` keys),
 * or null ("uncalibrated"); throws CalibrationFileError for a file it cannot use. One rule for the code lens, the trade-off view and `lora-lab estimate`, which
 * needs no engine to apply (the language server never loads the addon).
 */
export function newestCalibration(device: 'cpu' | 'cuda', path = calibrationFilePath()): CalibrationRecord | null {
  const records = Object.entries(readCalibrationFile(path).devices)
    .filter(([key]) => key.startsWith(`${device}:`))
    .map(([, record]) => record)
    .sort((a, b) => String(b.measuredAt ?? '').localeCompare(String(a.measuredAt ?? '')));
  return records[0] ?? null;
}
