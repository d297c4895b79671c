// The comparison table as text, pure: Markdown and CSV (the panel's export, and the demo's tables),
// and one row's settings as YAML overrides to paste into a config.
import { type CompareColumn, type CompareRow, type CompareTable } from './table';
import type { SettingValue } from './facts';

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A Markdown table of the rows given (default: all, in table order), the shared settings above it. */
export function toMarkdown(table: CompareTable, rows: readonly CompareRow[] = table.rows, title?: string): string {
  const columns = table.columns;
  const lines: string[] = [];
  if (title) lines.push(`# ${title}`, '');
  if (table.common.length) lines.push(`Shared settings: ${table.common.map((c) => `${c.label} ${c.text}`).join(', ')}`, '');
  lines.push(`| row | ${columns.map((c) => markdownCell(c.label)).join(' | ')} |`);
  lines.push(`|---|${columns.map((c) => (c.group === 'setting' || c.group === 'info' ? '---' : '---:')).join('|')}|`);
  for (const row of rows) {
    const cells = columns.map((c) => {
      const cell = row.cells[c.key];
      const shown = cell ? cell.text : '';
      return markdownCell(cell?.best ? `**${shown}**` : shown);
    });
    lines.push(`| ${markdownCell(row.label)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** CSV with raw numbers (bytes, seconds, scores) so a spreadsheet can compute; stderr in its own column. */
export function toCsv(table: CompareTable, rows: readonly CompareRow[] = table.rows): string {
  const header = ['kind', 'row'];
  const fields: { column: CompareColumn; stderr: boolean }[] = [];
  for (const column of table.columns) {
    fields.push({ column, stderr: false });
    header.push(column.key);
    if (column.group === 'eval') {
      fields.push({ column, stderr: true });
      header.push(`${column.key}:stderr`);
    }
  }
  const lines = [header.map(csvField).join(',')];
  for (const row of rows) {
    const values = fields.map(({ column, stderr }) => {
      const cell = row.cells[column.key];
      if (!cell) return '';
      if (stderr) return cell.stderr == null ? '' : String(cell.stderr);
      return cell.value !== null ? String(cell.value) : cell.text === '—' ? '' : cell.text;
    });
    lines.push([row.kind, row.label, ...values].map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}

function yamlScalar(value: SettingValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string')
    return /^[A-Za-z0-9_./-]+$/.test(value) && !/^(true|false|null|~|\d.*)$/i.test(value) ? value : JSON.stringify(value);
  return String(value);
}

const TARGET_KEYS: [label: string, key: string][] = [
  ['q', 'query'],
  ['k', 'key'],
  ['v', 'value'],
  ['o', 'projection'],
  ['mlp', 'mlp'],
  ['head', 'head'],
];

/**
 * A row's settings as a YAML block of the config's sections (lora:, train: ...), to paste as
 * overrides; the panel's 'lora.targets' becomes the six target switches. Paths are left out
 * (the panel shows only their last part).
 */
export function overridesYaml(settings: Record<string, SettingValue>, keys: readonly string[] = Object.keys(settings)): string {
  const sections = new Map<string, [string, string][]>();
  const put = (dotted: string, value: string) => {
    const [section, key] = dotted.split('.');
    if (!sections.has(section)) sections.set(section, []);
    sections.get(section)!.push([key, value]);
  };
  for (const key of keys) {
    if (!(key in settings) || key === 'model.checkpoint' || key === 'data.path') continue;
    const value = settings[key];
    if (key === 'lora.targets') {
      const on = new Set(
        String(value ?? '')
          .split(',')
          .filter(Boolean),
      );
      for (const [label, target] of TARGET_KEYS) put(`lora.${target}`, String(on.has(label)));
    } else put(key, yamlScalar(value));
  }
  const lines: string[] = [];
  for (const [section, entries] of sections) {
    lines.push(`${section}:`);
    for (const [key, value] of entries) lines.push(`  ${key}: ${value}`);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
