// Reads evaluation data files: checks each file's sha256 against the data folder's MANIFEST.json
// (a changed byte is an error naming the file) and parses JSONL / JSON / CSV rows, with file:line
// in every error.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DataFileSpec, Row } from './types';

export interface DataRow {
  row: Row;
  /** "file:line" of the row, for errors. */
  where: string;
}

interface Manifest {
  files: Record<string, { sha256: string; bytes?: number }>;
}

function readManifest(dir: string): Manifest {
  const path = join(dir, 'MANIFEST.json');
  if (!existsSync(path)) throw new Error(`${path} is missing: the evaluation data folder needs its manifest of sha256 hashes`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!manifest || typeof manifest.files !== 'object') throw new Error(`${path}: expected {"files": {"<name>": {"sha256": "<hex>"}}}`);
  return manifest;
}

/** The file's bytes after checking them against the manifest's sha256. */
export function readVerified(dir: string, file: string): Buffer {
  const manifest = readManifest(dir);
  const entry = manifest.files[file];
  if (!entry)
    throw new Error(
      `${join(dir, file)}: not listed in ${join(dir, 'MANIFEST.json')}; add its sha256 there (evaluation data is checked before use)`,
    );
  const path = join(dir, file);
  if (!existsSync(path)) throw new Error(`${path} is missing (listed in MANIFEST.json): reinstall LoRA Lab or restore the file`);
  const bytes = readFileSync(path);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== entry.sha256) {
    throw new Error(
      `${path}: sha256 is ${sha} but MANIFEST.json expects ${entry.sha256}; the file was changed or is incomplete: restore the original`,
    );
  }
  return bytes;
}

/** Parses rows of verified bytes; `name` prefixes errors. */
export function parseRows(text: string, spec: DataFileSpec, name: string): DataRow[] {
  if (spec.format === 'jsonl') return parseJsonl(text, name);
  if (spec.format === 'json') return parseJsonArray(text, name);
  if (!spec.columns || spec.columns.length === 0) throw new Error(`${name}: a csv data file needs 'columns' (the name of each column)`);
  return parseCsv(text, name).map(({ cells, line }) => {
    const where = `${name}:${line}`;
    if (cells.length !== spec.columns!.length)
      throw new Error(`${where}: expected ${spec.columns!.length} columns (${spec.columns!.join(', ')}) but found ${cells.length}`);
    return { row: Object.fromEntries(spec.columns!.map((c, i) => [c, cells[i]])), where };
  });
}

function parseJsonl(text: string, name: string): DataRow[] {
  const rows: DataRow[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const where = `${name}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`${where}: not valid JSON (${(error as Error).message}); each line must be one JSON object`);
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected a JSON object per line`);
    rows.push({ row: value as Row, where });
  });
  return rows;
}

function parseJsonArray(text: string, name: string): DataRow[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${name}: not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(value)) throw new Error(`${name}: expected a JSON array of objects`);
  // Line of each top-level element: scan for the opening brace of each element at depth 1.
  const lines = elementLines(text);
  return value.map((row, i) => {
    const where = `${name}:${lines[i] ?? 1} (item ${i})`;
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new Error(`${where}: expected an object`);
    return { row: row as Row, where };
  });
}

function elementLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let line = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (depth === 1) out.push(line);
      depth++;
    } else if (c === ']' || c === '}') depth--;
  }
  return out;
}

/** RFC 4180: quoted fields may hold commas, CR/LF and doubled quotes; rows end at CRLF or LF. */
export function parseCsv(text: string, name: string): { cells: string[]; line: number }[] {
  const rows: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let rowLine = 1;
  let i = 0;
  let quoted = false;
  let fieldStart = true;
  const endRow = (): void => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0] === '')) rows.push({ cells, line: rowLine });
    cells = [];
    cell = '';
    fieldStart = true;
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r')
          throw new Error(`${name}:${line}: text after a closing quote (a quote inside a quoted field must be doubled: "")`);
        continue;
      }
      if (c === '\n') line++;
      cell += c;
      i++;
      continue;
    }
    if (c === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
      i++;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      fieldStart = true;
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      endRow();
      i += 2;
      rowLine = ++line;
    } else if (c === '\n') {
      endRow();
      i++;
      rowLine = ++line;
    } else {
      cell += c;
      fieldStart = false;
      i++;
    }
  }
  if (quoted) throw new Error(`${name}:${rowLine}: a quoted field is never closed`);
  if (cell !== '' || cells.length > 0) endRow();
  return rows;
}

/** Parsed rows of one data file in `dir`: checked against the folder's MANIFEST.json (the shipped data), or as is (`verify` false: a custom task's own data). */
export function loadRows(dir: string, spec: DataFileSpec, verify = true): DataRow[] {
  // a custom task's data.file may be absolute (the copy a run keeps of its task files)
  const path = verify ? join(dir, spec.file) : resolve(dir, spec.file);
  if (!verify && !existsSync(path)) throw new Error(`${path} does not exist: the task's data.file is relative to the task file's folder`);
  const bytes = verify ? readVerified(dir, spec.file) : readFileSync(path);
  return parseRows(bytes.toString('utf8'), spec, path);
}
