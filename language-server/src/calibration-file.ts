// The server's view of `lora-lab calibrate`'s cache ($XDG_CACHE_HOME or ~/.cache /lora-lab/
// calibration.json): the newest measurement of a device kind, for the code lens's time estimate.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Calibration } from './estimator';

export function calibrationFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(cacheRoot, 'lora-lab', 'calibration.json');
}

/** The newest record whose key starts with `cpu:` or `cuda:`, or null when there is none. */
export function newestCalibration(device: 'cpu' | 'cuda', path = calibrationFilePath()): Calibration | null {
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as { devices?: Record<string, Calibration & { measuredAt?: string }> };
    const records = Object.entries(file.devices ?? {})
      .filter(([key, record]) => key.startsWith(`${device}:`) && Number.isFinite(record.flopsPerSecond) && record.flopsPerSecond > 0)
      .map(([, record]) => record)
      .sort((a, b) => String(b.measuredAt ?? '').localeCompare(String(a.measuredAt ?? '')));
    return records[0] ?? null;
  } catch {
    return null;
  }
}
