// The disk side of the estimator for the CLI: the checkpoint's config.json, the data's longest example
// and training-set size, and calibrate's atomic write of the calibration cache (lib/calibration-file.ts).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoraLabConfig } from '../../language-server/src/config/types';
import { calibrationFilePath, readCalibrationFile, withCalibrationRecord, type CalibrationRecord } from '../../language-server/src/lib/calibration-file';
import type { DeviceReport } from './addon';
import { defaultDataCacheDir, prepareData } from './data/pipeline';
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

export interface DataFacts {
  trainExamples: number;
  /** Tokens of the longest example after truncation to max_seq_length. */
  longestExample: number;
}

/** Tokenizes the config's data (through the trainer's cache) for the real sequence length and step count. */
export function readDataFacts(config: LoraLabConfig): DataFacts | { error: string } {
  try {
    const data = prepareData(config, { cacheDir: defaultDataCacheDir(config) });
    if (data.examples.length === 0) return { error: `${config.data.path}: the dataset has no records` };
    return { trainExamples: data.train.length, longestExample: Math.max(...data.examples.map((e) => e.inputIds.length)) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Adds or replaces one device's record (atomic write: a crash leaves the old file or the new one). */
export function writeCalibrationRecord(record: CalibrationRecord, path = calibrationFilePath()): void {
  mkdirSync(dirname(path), { recursive: true });
  writeJsonAtomic(path, withCalibrationRecord(readCalibrationFile(path), record));
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
