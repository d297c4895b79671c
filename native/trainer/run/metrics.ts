// metrics.jsonl: append-only, one whole line per append (a failed append is cut off again); on
// resume it is rewritten atomically, truncated to the checkpoint's step.
import { closeSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
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
  private size: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
    this.size = fstatSync(this.fd).size;
  }

  /** Appends one whole line; a write that fails part-way (disk full) is cut back off the file. */
  append(line: MetricsLine): void {
    const bytes = Buffer.from(JSON.stringify(line) + '\n', 'utf8');
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // readers skip a torn last line anyway
      }
      throw withPath(error, this.path);
    }
    this.size += bytes.length;
  }

  close(): void {
    closeSync(this.fd);
  }
}
