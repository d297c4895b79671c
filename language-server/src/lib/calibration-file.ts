// The one home of `lora-lab calibrate`'s cache ($XDG_CACHE_HOME or ~/.cache /lora-lab/calibration.json):
// where it is, its format, and which record an estimate uses. The code lens, the trade-off view and
// `lora-lab estimate` all look up through here; `lora-lab calibrate` writes (atomically) through here.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Calibration } from '../estimator';

/** One device's measured throughput, as `lora-lab calibrate` stores it. */
export interface CalibrationRecord extends Calibration {
  /** Written by calibrate: `cpu:<model>:<simd path>:<threads>t` or `cuda:<index>:<name>`. */
  key: string;
  device: string;
  computePath: string;
  threads: number;
  measuredAt: string;
  /** The calibration runs: model size, tokens per step, seconds per step. */
  runs: Array<{ params: number; tokensPerStep: number; secondsPerStep: number; flopsPerSecond: number }>;
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

/** The cache's records; an empty file when it is missing, unreadable or of another version (no calibration yet). */
export function readCalibrationFile(path = calibrationFilePath()): CalibrationFile {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CalibrationFile>;
    if (parsed.version === 1 && parsed.devices && typeof parsed.devices === 'object' && !Array.isArray(parsed.devices))
      return parsed as CalibrationFile;
  } catch {
    // missing or unreadable: no calibration yet
  }
  return { version: 1, devices: {} };
}

/** The file with `record` added or replacing the record of the same key (the caller writes it atomically). */
export function withCalibrationRecord(file: CalibrationFile, record: CalibrationRecord): CalibrationFile {
  return { version: 1, devices: { ...file.devices, [record.key]: record } };
}

/**
 * The calibration every estimate uses: the newest valid record of the device kind (`cpu:` or `cuda:` keys),
 * or null ("uncalibrated"). One rule for the code lens, the trade-off view and `lora-lab estimate`, which
 * needs no engine to apply (the language server never loads the addon).
 */
export function newestCalibration(device: 'cpu' | 'cuda', path = calibrationFilePath()): CalibrationRecord | null {
  const records = Object.entries(readCalibrationFile(path).devices)
    .filter(
      ([key, record]) => key.startsWith(`${device}:`) && !!record && Number.isFinite(record.flopsPerSecond) && record.flopsPerSecond > 0,
    )
    .map(([, record]) => record)
    .sort((a, b) => String(b.measuredAt ?? '').localeCompare(String(a.measuredAt ?? '')));
  return records[0] ?? null;
}
