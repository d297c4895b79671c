// The disk side of the estimator for the CLI: the checkpoint's config.json, the calibration cache key of
// a device (from the addon's device report) and calibrate's atomic write of the calibration cache (lib/calibration-file.ts).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  calibrationFilePath,
  CalibrationFileError,
  readCalibrationFile,
  withCalibrationRecord,
  type CalibrationFile,
  type CalibrationRecord,
} from '../../language-server/src/lib/calibration-file';
import type { DeviceReport } from './addon';
import { writeJsonAtomic } from './run/atomic';

/** Parsed <checkpoint>/config.json; throws naming the file. */
export function readCheckpointConfig(checkpointDir: string): unknown {
  const path = join(checkpointDir, 'config.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** Adds or replaces one device's record (atomic write: a crash leaves the old file or the new one). */
export function writeCalibrationRecord(record: CalibrationRecord, path = calibrationFilePath()): void {
  mkdirSync(dirname(path), { recursive: true });
  let file: CalibrationFile = { version: 1, devices: {} };
  try {
    file = readCalibrationFile(path);
  } catch (error) {
    if (!(error instanceof CalibrationFileError)) throw error; // a file no estimate can use is replaced
  }
  writeJsonAtomic(path, withCalibrationRecord(file, record));
}

/** The cache key of a device: the CPU model, kernel path and thread count, or the CUDA device's name. */
export function deviceKey(device: string, report: DeviceReport, threads: number): string {
  if (device.startsWith('cuda')) {
    const index = Number(device.split(':')[1] ?? 0);
    const cuda = report.cuda.devices.find((d) => d.index === index);
    return `cuda:${index}:${cuda?.name ?? 'unknown'}`;
  }
  return `cpu:${report.cpu.model}:${report.simdPath}:${threads}t`;
}
