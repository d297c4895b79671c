// The templates of task definitions: literal text with `{{ field | filter | filter("a", "b") }}`
// holes. Filters: strip (Python's str.strip()), replace(old, new) (every occurrence); arguments
// are JSON string literals. Parsed once per task, then applied to every row.
import type { Row } from './types';

type Filter = { name: 'strip' } | { name: 'replace'; from: string; to: string };
type Part = { text: string } | { field: string; filters: Filter[] };

export interface Template {
  source: string;
  parts: Part[];
  fields: string[];
}

/** Python's str.strip() with no argument: whitespace as str.isspace() sees it (ASCII and Unicode spaces). */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPySpace(text[start])) start++;
  while (end > start && isPySpace(text[end - 1])) end--;
  return text.slice(start, end);
}

/** str.isspace() for one character: \s plus the separators U+001C-U+001F and U+0085, minus U+FEFF. */
export function isPySpace(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code >= 0x1c && code <= 0x1f) return true;
  if (code === 0x85) return true;
  return code !== 0xfeff && /\s/u.test(c);
}

function parseFilter(source: string, what: string): Filter {
  const match = /^([a-z_]+)\s*(?:\((.*)\))?$/s.exec(source.trim());
  if (!match) throw new Error(`${what}: cannot read the filter '${source.trim()}' (expected strip or replace("old", "new"))`);
  const [, name, argText] = match;
  let args: unknown[] = [];
  if (argText !== undefined) {
    try {
      args = JSON.parse(`[${argText}]`) as unknown[];
    } catch {
      throw new Error(`${what}: the arguments of ${name}(...) must be JSON strings, e.g. replace("Q:", "Question:")`);
    }
  }
  if (name === 'strip' && args.length === 0) return { name };
  if (name === 'replace' && args.length === 2 && args.every((a) => typeof a === 'string'))
    return { name, from: args[0] as string, to: args[1] as string };
  throw new Error(`${what}: unknown filter or wrong arguments '${source.trim()}' (filters: strip, replace("old", "new"))`);
}

/** Parses a template; `what` names it in errors (e.g. "task mmlu_global_facts, context"). */
export function parseTemplate(source: string, what: string): Template {
  const parts: Part[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open < 0) {
      parts.push({ text: source.slice(at) });
      break;
    }
    if (open > at) parts.push({ text: source.slice(at, open) });
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new Error(`${what}: '{{' at offset ${open} is never closed with '}}'`);
    const [field, ...filters] = splitPipes(source.slice(open + 2, close));
    const name = field.trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`${what}: '${name}' is not a field name (letters, digits, _)`);
    parts.push({ field: name, filters: filters.map((f) => parseFilter(f, what)) });
    at = close + 2;
  }
  const fields = [...new Set(parts.flatMap((p) => ('field' in p ? [p.field] : [])))];
  return { source, parts, fields };
}

/** Splits on '|' outside JSON string literals. */
function splitPipes(expr: string): string[] {
  const out: string[] = [];
  let current = '';
  let inString = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (inString && c === '\\') {
      current += c + (expr[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') inString = !inString;
    if (c === '|' && !inString) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

/** Fills the template from a row; a missing or non-string field is an error naming `where` (file:line). */
export function render(template: Template, row: Row, where: string): string {
  let out = '';
  for (const part of template.parts) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const value = row[part.field];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new Error(
        `${where}: the field '${part.field}' is ${value === undefined ? 'missing' : `a ${typeof value}, not text`} (the template is ${JSON.stringify(template.source)})`,
      );
    }
    let text = String(value);
    for (const filter of part.filters) text = filter.name === 'strip' ? pyStrip(text) : text.split(filter.from).join(filter.to);
    out += text;
  }
  return out;
}
