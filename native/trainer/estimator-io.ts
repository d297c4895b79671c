// The disk side of the estimator for the CLI: the checkpoint's config.json, the data's longest example
// and training-set size, and the per-device calibration cache (~/.cache/lora-lab/calibration.json).
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { LoraLabConfig } from '../../language-server/src/config/types';
import type { Calibration } from '../../language-server/src/estimator';
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

/** One device's measured throughput, as `lora-lab calibrate` stores it. */
export interface CalibrationRecord extends Calibration {
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

/** $XDG_CACHE_HOME/lora-lab/calibration.json, else ~/.cache/lora-lab/calibration.json. */
export function calibrationPath(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(cacheRoot, 'lora-lab', 'calibration.json');
}

export function readCalibrationFile(path = calibrationPath()): CalibrationFile {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CalibrationFile>;
    if (parsed.version === 1 && parsed.devices && typeof parsed.devices === 'object') return parsed as CalibrationFile;
  } catch {
    // missing or unreadable: no calibration yet
  }
  return { version: 1, devices: {} };
}

/** Adds or replaces one device's record (atomic write: a crash leaves the old file or the new one). */
export function writeCalibrationRecord(record: CalibrationRecord, path = calibrationPath()): void {
  const file = readCalibrationFile(path);
  file.devices[record.key] = record;
  mkdirSync(join(path, '..'), { recursive: true });
  writeJsonAtomic(path, file);
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

export function lookupCalibration(key: string, path = calibrationPath()): CalibrationRecord | null {
  return readCalibrationFile(path).devices[key] ?? null;
}
