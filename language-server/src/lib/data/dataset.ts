// Reads instruction datasets: Alpaca JSON (a list of {instruction, input?, output}), JSONL with the
// same fields, CSV with those columns. Malformed rows are errors naming file and line; empty
// outputs and missing optional fields are reported; no record is ever dropped silently.
// Messages give the position of a bad record; a short excerpt of the file only when its name marks
// it as a dataset (.json, .jsonl, .csv), so `data.path: /etc/passwd` does not copy the file into
// errors, train.log and run.json.
import { readFileSync } from 'node:fs';
import { parseCsv, CsvSyntaxError } from './csv';
import { jsonSyntaxErrorOffset } from './json-syntax';
import type { DataFormat } from '../../config/types';

export interface DataRecord {
  instruction: string;
  input: string;
  output: string;
  /** 0-based position in the file. */
  index: number;
  /** 1-based line where the record starts. */
  line: number;
}

export interface DataIssue {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  /** 0-based record index, when the issue belongs to one record. */
  record?: number;
  field?: string;
  message: string;
}

export interface Dataset {
  file: string;
  format: DataFormat;
  records: DataRecord[];
  /** Warnings (empty outputs, absent input fields are fine and not listed). */
  issues: DataIssue[];
}

export class DatasetError extends Error {
  constructor(
    message: string,
    readonly issues: DataIssue[],
  ) {
    super(message);
    this.name = 'DatasetError';
  }
}

export function formatIssue(issue: DataIssue): string {
  const where = issue.record === undefined ? '' : ` (record ${issue.record + 1})`;
  return `${issue.file}:${issue.line}: ${issue.severity}${where}: ${issue.message}`;
}

function lineAt(text: string, offset: number): number {
  return linesAt(text, [offset])[0];
}

/** 1-based lines of ascending offsets, in one pass over the text. */
function linesAt(text: string, offsets: readonly number[]): number[] {
  const lines: number[] = [];
  let line = 1;
  let position = 0;
  for (const offset of offsets) {
    for (; position < offset && position < text.length; position++) if (text.charCodeAt(position) === 10) line++;
    lines.push(line);
  }
  return lines;
}

/** Offsets where each top-level element of a JSON array starts (text already known to parse). */
function arrayElementOffsets(text: string): number[] {
  const offsets: number[] = [];
  let depth = 0;
  let inString = false;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (expectElement && !/\s/.test(ch) && ch !== ']') {
      offsets.push(i);
      expectElement = false;
    }
    if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1 && ch === '[') expectElement = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expectElement = true;
  }
  return offsets;
}

function jsonErrorLine(text: string, error: Error): number {
  const offset = jsonSyntaxErrorOffset(text);
  if (offset !== null) return lineAt(text, offset);
  const position = /position (\d+)/.exec(error.message);
  return position ? lineAt(text, Number(position[1])) : 1;
}

type Collect = (issue: Omit<DataIssue, 'file'>) => void;

/** Longest excerpt of a dataset file quoted in a message. */
export const MAX_EXCERPT_CHARS = 30;

/** Whether messages may quote the file: only files whose name says they are datasets. */
export function mayQuote(file: string): boolean {
  return /\.(json|jsonl|csv)$/i.test(file);
}

/** How a parser reports: issues, and excerpts when the file may be quoted. */
interface Reporter {
  report: Collect;
  /** The first line of `text` quoted and cut to MAX_EXCERPT_CHARS, or null when the file may not be quoted. */
  excerpt: (text: string) => string | null;
  /** ' near "..."' from excerpt, or ''. */
  near: (text: string) => string;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Line and column (1-based) of an offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const line = lineAt(text, offset);
  return { line, column: offset - (text.lastIndexOf('\n', offset - 1) + 1) + 1 };
}

/** Whether every non-empty line of `text` is a JSON object (a JSONL file). */
function looksLikeJsonl(text: string): boolean {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length < 1) return false;
  return lines.every((line) => {
    try {
      const value = JSON.parse(line) as unknown;
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    } catch {
      return false;
    }
  });
}

function toRecord(value: unknown, index: number, line: number, { report, near }: Reporter): DataRecord | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    report({
      severity: 'error',
      line,
      record: index,
      message: `expected an object with instruction, input and output but found ${kindOf(value)}${Array.isArray(value) ? '' : near(JSON.stringify(value))}`,
    });
    return null;
  }
  const fields = value as Record<string, unknown>;
  let ok = true;
  const text = (name: string, required: boolean): string => {
    const field = fields[name];
    if (field === undefined || field === null) {
      if (required) {
        report({ severity: 'error', line, record: index, field: name, message: `the required field '${name}' is missing` });
        ok = false;
      }
      return '';
    }
    if (typeof field !== 'string') {
      report({
        severity: 'error',
        line,
        record: index,
        field: name,
        message: `'${name}' must be a string but is ${kindOf(field)}${near(JSON.stringify(field))}`,
      });
      ok = false;
      return '';
    }
    return field;
  };
  const record = { instruction: text('instruction', true), input: text('input', false), output: text('output', true), index, line };
  if (!ok) return null;
  if (record.instruction.trim() === '')
    report({ severity: 'warning', line, record: index, field: 'instruction', message: 'the instruction is empty' });
  if (record.output.trim() === '')
    report({
      severity: 'warning',
      line,
      record: index,
      field: 'output',
      message: 'the output is empty: the example trains only the end-of-sequence token',
    });
  return record;
}

function parseAlpacaJson(text: string, reporter: Reporter): DataRecord[] {
  const { report, near } = reporter;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    if (looksLikeJsonl(text)) {
      report({
        severity: 'error',
        line: 1,
        message: 'the file holds one JSON object per line (JSONL), not a JSON list: set data.format: jsonl',
      });
      return [];
    }
    const offset = jsonSyntaxErrorOffset(text);
    const where = offset === null ? null : lineColumn(text, offset);
    const line = where?.line ?? jsonErrorLine(text, error as Error);
    report({
      severity: 'error',
      line,
      message: `malformed JSON${where ? ` at column ${where.column}` : ''}${offset === null ? '' : near(text.slice(offset))} (an alpaca dataset is one JSON list of {instruction, input, output} objects)`,
    });
    return [];
  }
  if (!Array.isArray(data)) {
    report({
      severity: 'error',
      line: 1,
      message:
        'an alpaca dataset is a JSON list of {instruction, input, output} objects; this file is not a list (use format jsonl for one object per line)',
    });
    return [];
  }
  const lines = linesAt(text, arrayElementOffsets(text));
  const records: DataRecord[] = [];
  data.forEach((value, index) => {
    const record = toRecord(value, index, lines[index] ?? 1, reporter);
    if (record) records.push(record);
  });
  return records;
}

function parseJsonl(text: string, reporter: Reporter): DataRecord[] {
  const { report, near } = reporter;
  const records: DataRecord[] = [];
  let index = 0;
  let listFile: boolean | undefined;
  text.split('\n').forEach((rawLine, lineIndex) => {
    const line = rawLine.replace(/\r$/, '');
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      const offset = jsonSyntaxErrorOffset(line) ?? 0;
      listFile ??= isJsonList(text);
      const hint = listFile ? ' (the file is one JSON list: set data.format: alpaca)' : '';
      report({
        severity: 'error',
        line: lineIndex + 1,
        record: index++,
        message: `malformed JSON line at column ${offset + 1}${near(line.slice(offset))}${hint}`,
      });
      return;
    }
    const record = toRecord(value, index++, lineIndex + 1, reporter);
    if (record) records.push(record);
  });
  return records;
}

function isJsonList(text: string): boolean {
  try {
    return Array.isArray(JSON.parse(text));
  } catch {
    return false;
  }
}

function parseCsvRecords(text: string, reporter: Reporter): DataRecord[] {
  const { report } = reporter;
  let rows;
  try {
    rows = parseCsv(text);
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error;
    report({ severity: 'error', line: error.line, message: `malformed CSV at column ${error.column}: ${error.message}` });
    return [];
  }
  if (rows.length === 0) return [];
  const header = rows[0].fields.map((name) => name.trim().toLowerCase());
  const column = (name: string): number => header.indexOf(name);
  const missing = ['instruction', 'output'].filter((name) => column(name) < 0);
  if (missing.length) {
    const excerpt = reporter.excerpt(rows[0].fields.join(','));
    const found = excerpt ? ` (found ${excerpt})` : '';
    report({
      severity: 'error',
      line: rows[0].line,
      message: `the header row lacks the column(s) ${missing.join(', ')}${found}; a CSV dataset needs instruction, output and optionally input`,
    });
    return [];
  }
  const records: DataRecord[] = [];
  rows.slice(1).forEach((row, index) => {
    if (row.fields.length !== header.length) {
      report({
        severity: 'error',
        line: row.line,
        record: index,
        message: `the row has ${row.fields.length} field(s) but the header has ${header.length}`,
      });
      return;
    }
    const value: Record<string, string> = { instruction: row.fields[column('instruction')], output: row.fields[column('output')] };
    if (column('input') >= 0) value.input = row.fields[column('input')];
    const record = toRecord(value, index, row.line, reporter);
    if (record) records.push(record);
  });
  return records;
}

/** Parses dataset text; `file` names it in issues. Errors and warnings are returned, not thrown. */
export function parseDataset(text: string, file: string, format: DataFormat): { records: DataRecord[]; issues: DataIssue[] } {
  const issues: DataIssue[] = [];
  const quote = mayQuote(file);
  const excerpt = (from: string): string | null => {
    if (!quote) return null;
    const line = from.split(/\r?\n/)[0];
    return JSON.stringify(line.length > MAX_EXCERPT_CHARS ? `${line.slice(0, MAX_EXCERPT_CHARS)}...` : line);
  };
  const reporter: Reporter = {
    report: (issue) => issues.push({ file, ...issue }),
    excerpt,
    near: (from) => {
      const quoted = excerpt(from);
      return quoted ? ` near ${quoted}` : '';
    },
  };
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records =
    format === 'alpaca'
      ? parseAlpacaJson(source, reporter)
      : format === 'jsonl'
        ? parseJsonl(source, reporter)
        : parseCsvRecords(source, reporter);
  if (records.length === 0 && !issues.some((issue) => issue.severity === 'error'))
    issues.push({ file, severity: 'error', line: 1, message: 'the dataset has no records' });
  return { records, issues };
}

/** Offset of the first byte that is not valid UTF-8 (overlong forms and surrogates included), or -1. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0 || i + need >= bytes.length) return i;
    for (let k = 1; k <= need; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    if (
      (b === 0xe0 && bytes[i + 1] < 0xa0) ||
      (b === 0xed && bytes[i + 1] > 0x9f) ||
      (b === 0xf0 && bytes[i + 1] < 0x90) ||
      (b === 0xf4 && bytes[i + 1] > 0x8f)
    )
      return i;
    i += need + 1;
  }
  return -1;
}

/** UTF-8 text of a dataset; a file in another encoding is an error naming the line of the first bad byte. */
function decodeUtf8(bytes: Buffer, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // not UTF-8: find the first bad byte to name its line
  }
  const bad = Math.max(0, invalidUtf8Offset(bytes));
  let line = 1;
  for (let i = 0; i < bad; i++) if (bytes[i] === 10) line++;
  const issue: DataIssue = {
    severity: 'error',
    file: path,
    line,
    message: `byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad} is not UTF-8: save the file as UTF-8 (it looks like another encoding, e.g. Latin-1 or UTF-16)`,
  };
  throw new DatasetError(`${path}: the dataset is not UTF-8 text:\n${formatIssue(issue)}`, [issue]);
}

/** Reads a dataset file; throws DatasetError listing every error (file:line) when any record is malformed. */
export function loadDataset(path: string, format: DataFormat): Dataset {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DatasetError(`${path}: cannot read the dataset (${(error as Error).message}); check data.path.`, []);
  }
  const text = decodeUtf8(bytes, path);
  const { records, issues } = parseDataset(text, path, format);
  const errors = issues.filter((issue) => issue.severity === 'error');
  if (errors.length) {
    const shown = errors.slice(0, 20).map(formatIssue);
    if (errors.length > shown.length) shown.push(`... and ${errors.length - shown.length} more error(s)`);
    throw new DatasetError(`${path}: ${errors.length} malformed record(s); fix them and run again:\n${shown.join('\n')}`, errors);
  }
  return { file: path, format, records, issues };
}

/**
 * Reads a dataset file keeping what loadDataset would refuse: the well-formed records, the
 * warnings and every error (file:line and why) as `rejected`; a file that is not UTF-8 is one
 * rejected issue. Throws DatasetError only when the file cannot be read. For the dataset panel.
 */
export function readDatasetLenient(path: string, format: DataFormat): Dataset & { rejected: DataIssue[] } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new DatasetError(`${path}: cannot read the dataset (${(error as Error).message}); check data.path.`, []);
  }
  let text: string;
  try {
    text = decodeUtf8(bytes, path);
  } catch (error) {
    if (error instanceof DatasetError) return { file: path, format, records: [], issues: [], rejected: error.issues };
    throw error;
  }
  const { records, issues } = parseDataset(text, path, format);
  return {
    file: path,
    format,
    records,
    issues: issues.filter((issue) => issue.severity !== 'error'),
    rejected: issues.filter((issue) => issue.severity === 'error'),
  };
}
