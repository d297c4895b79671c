// Text edits on a *.lora.yaml document: set a key's value where the file writes it, or insert the
// key into its section (creating the section at the end when the file has none).
import type { TextEdit } from 'vscode-languageserver-types';
import type { Range } from '../config';
import type { ConfigAnalysis } from './analysis';

function endOfDocument(analysis: ConfigAnalysis): { line: number; character: number } {
  const last = analysis.lines.length - 1;
  return { line: last, character: analysis.lines[last].length };
}

/** The last line a located key's value occupies (block values end at the next line's start). */
function lastLineOf(range: Range): number {
  return range.end.character === 0 && range.end.line > range.start.line ? range.end.line - 1 : range.end.line;
}

/** Inserts `dottedKey: valueText` into its section (or at top level), after the section's last key. */
export function insertKeyEdit(analysis: ConfigAnalysis, dottedKey: string, valueText: string): TextEdit {
  const { locations } = analysis.parsed;
  const dot = dottedKey.indexOf('.');
  const section = dot < 0 ? '' : dottedKey.slice(0, dot);
  const name = dot < 0 ? dottedKey : dottedKey.slice(dot + 1);
  const end = endOfDocument(analysis);
  const appendAtEnd = (text: string): TextEdit => ({ range: { start: end, end }, newText: `${end.character > 0 ? '\n' : ''}${text}\n` });
  if (!section) return appendAtEnd(`${name}: ${valueText}`);
  const sectionLocation = locations.get(section);
  if (!sectionLocation) return appendAtEnd(`${section}:\n  ${name}: ${valueText}`);
  const children = [...locations.entries()].filter(([key]) => key.startsWith(`${section}.`)).map(([, location]) => location);
  let indent = '  ';
  let afterLine = sectionLocation.keyRange.start.line;
  if (children.length) {
    indent = ' '.repeat(Math.min(...children.map((child) => child.keyRange.start.character)));
    afterLine = Math.max(...children.map((child) => lastLineOf(child.valueRange)));
  }
  const line = `${indent}${name}: ${valueText}`;
  if (afterLine + 1 >= analysis.lines.length) return appendAtEnd(line);
  const at = { line: afterLine + 1, character: 0 };
  return { range: { start: at, end: at }, newText: `${line}\n` };
}

/** Sets `dottedKey` to `valueText`: replaces the written value, or inserts the key. */
export function setValueEdit(analysis: ConfigAnalysis, dottedKey: string, valueText: string): TextEdit {
  const location = analysis.parsed.locations.get(dottedKey);
  if (!location) return insertKeyEdit(analysis, dottedKey, valueText);
  const empty = sameRange(location.valueRange, location.keyRange) || textIn(analysis, location.valueRange).trim() === '';
  if (empty) {
    const line = analysis.lines[location.keyRange.start.line] ?? '';
    const colon = line.indexOf(':', location.keyRange.end.character);
    const from = colon < 0 ? location.keyRange.end.character : colon + 1;
    const to = line.replace(/\s+#.*$/, '').length;
    return {
      range: {
        start: { line: location.keyRange.start.line, character: from },
        end: { line: location.keyRange.start.line, character: Math.max(from, to) },
      },
      newText: ` ${valueText}`,
    };
  }
  return { range: location.valueRange, newText: valueText };
}

export function sameRange(a: Range, b: Range): boolean {
  return (
    a.start.line === b.start.line &&
    a.start.character === b.start.character &&
    a.end.line === b.end.line &&
    a.end.character === b.end.character
  );
}

/** The document text inside `range`. */
export function textIn(analysis: ConfigAnalysis, range: Range): string {
  if (range.start.line === range.end.line)
    return (analysis.lines[range.start.line] ?? '').slice(range.start.character, range.end.character);
  const parts = [(analysis.lines[range.start.line] ?? '').slice(range.start.character)];
  for (let line = range.start.line + 1; line < range.end.line; line++) parts.push(analysis.lines[line] ?? '');
  parts.push((analysis.lines[range.end.line] ?? '').slice(0, range.end.character));
  return parts.join('\n');
}
