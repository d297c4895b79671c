// metrics.jsonl: append-only, one write() per line (readers ignore a partial last line); on
// resume it is rewritten atomically, truncated to the checkpoint's step.
import { closeSync, openSync, writeSync } from 'node:fs';
import { readMetrics } from '../../../language-server/src/lib/run-folder/reader';
import type { MetricsLine } from '../protocol';
import { withPath, writeFileAtomic } from './atomic';

/** Keeps only the lines up to and including `step`, atomically. */
export function truncateMetrics(path: string, step: number): MetricsLine[] {
  const kept = readMetrics(path).filter((line) => line.step <= step);
  writeFileAtomic(path, kept.map((line) => JSON.stringify(line) + '\n').join(''));
  return kept;
}

export class MetricsWriter {
  private readonly fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  append(line: MetricsLine): void {
    try {
      writeSync(this.fd, JSON.stringify(line) + '\n');
    } catch (error) {
      throw withPath(error, this.path);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
