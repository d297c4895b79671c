// Readers of run folders (<out_dir>/<run>/: run.json, metrics.jsonl, checkpoints/) as the
// trainer writes them, to compare what the UI shows with the files on disk.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Run folders (those holding run.json) directly under `outDir`, oldest first by name. */
export function runFolders(outDir) {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir)
    .map((name) => join(outDir, name))
    .filter((dir) => statSync(dir).isDirectory() && existsSync(join(dir, 'run.json')))
    .sort();
}

export function readRunJson(runDir) {
  return JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
}

/** Complete lines of metrics.jsonl (a partial last line is ignored, as readers must). */
export function readMetrics(runDir) {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

export function trainLines(runDir) {
  return readMetrics(runDir).filter((line) => line.kind === 'train');
}

/** Checkpoint folders of a run (checkpoints/<step>/ or similar), empty if none. */
export function checkpoints(runDir) {
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => statSync(join(dir, name)).isDirectory());
}
