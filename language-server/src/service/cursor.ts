// Where the cursor is in a *.lora.yaml text, read from indentation and the current line (robust
// while the YAML is half typed): a key in a section, or the value of a key (scalar or list item).
import type { Position, Range } from '../config';

/**
 * `section`: the dotted path of the mapping a key is typed in ('' top level, 'lora', 'sweep').
 * `key`: the full dotted key whose value is typed ('lora.r', 'eval.tasks', 'sweep.lora.r').
 * `range`: the text the completion replaces (the partial word and its rest on the line).
 */
export type CursorContext =
  | { kind: 'key'; section: string; partial: string; range: Range }
  | { kind: 'value'; key: string; partial: string; range: Range; inList: boolean; listItems: string[] }
  | { kind: 'none' };

const NONE: CursorContext = { kind: 'none' };

const KEY_ONLY = /^(\s*)([A-Za-z_][\w.-]*)?$/;
const KEY_WITH_VALUE = /^(\s*)([A-Za-z_][\w.-]*)\s*:(?:\s+(.*))?$/;
const LIST_ITEM = /^(\s*)-\s+(.*)$/;
const PARENT = /^(\s*)([A-Za-z_][\w.-]*)\s*:\s*(?:#.*)?$/;

function indentOf(line: string): number {
  return /^\s*/.exec(line)![0].length;
}

function isBlankOrComment(line: string): boolean {
  return /^\s*(#.*)?$/.test(line);
}

/** True when '#' starts a comment before the cursor (outside quotes). */
function inComment(prefix: string): boolean {
  let quote = '';
  for (let i = 0; i < prefix.length; i++) {
    const ch = prefix[i];
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(prefix[i - 1]))) {
      return true;
    }
  }
  return false;
}

/**
 * The mapping a line at `indent` belongs to: the dotted path of the enclosing keys ('' at top level,
 * 'lora', 'sweep.lora.r'); null where the structure is not a plain mapping (a key with an inline
 * value above, a mapping inside a list). A list item may sit at its key's own indent (`tasks:` then `- a`).
 */
export function enclosingPath(lines: readonly string[], lineIndex: number, indent: number, listItem = false): string | null {
  const path: string[] = [];
  let limit = indent;
  let allowEqual = listItem;
  if (limit === 0 && !allowEqual) return '';
  for (let i = Math.min(lineIndex, lines.length) - 1; i >= 0; i--) {
    const line = lines[i];
    if (isBlankOrComment(line)) continue;
    const lineIndent = indentOf(line);
    if (lineIndent > limit) continue;
    if (lineIndent === limit && (!allowEqual || LIST_ITEM.test(line))) continue;
    const parent = PARENT.exec(line);
    if (!parent) return null;
    path.unshift(parent[2]);
    limit = lineIndent;
    allowEqual = false;
    if (limit === 0) break;
  }
  return path.join('.');
}

function wordAfter(line: string, character: number): number {
  const match = /^[\w.:=*+\-/()"']*/.exec(line.slice(character));
  return character + (match ? match[0].length : 0);
}

/** The cursor context at `position` of `lines`. */
export function cursorContext(lines: readonly string[], position: Position): CursorContext {
  const line = lines[position.line] ?? '';
  const character = Math.min(position.character, line.length);
  const prefix = line.slice(0, character);
  if (inComment(prefix)) return NONE;
  const lineNo = position.line;
  const rangeFrom = (start: number, end: number): Range => ({
    start: { line: lineNo, character: start },
    end: { line: lineNo, character: end },
  });
  const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

  const keyOnly = KEY_ONLY.exec(prefix);
  if (keyOnly) {
    const section = enclosingPath(lines, lineNo, keyOnly[1].length);
    if (section === null) return NONE;
    const partial = keyOnly[2] ?? '';
    const end = character + (/^[\w.-]*/.exec(line.slice(character))?.[0].length ?? 0);
    return { kind: 'key', section, partial, range: rangeFrom(character - partial.length, end) };
  }

  const item = LIST_ITEM.exec(prefix);
  if (item && !KEY_WITH_VALUE.test(item[2])) {
    const key = enclosingPath(lines, lineNo, item[1].length, true);
    if (!key) return NONE;
    const partial = item[2].trimStart();
    const listItems = siblingItems(lines, lineNo, item[1].length);
    return {
      kind: 'value',
      key,
      partial,
      range: rangeFrom(character - partial.length, wordAfter(line, character)),
      inList: true,
      listItems,
    };
  }

  const keyValue = KEY_WITH_VALUE.exec(prefix);
  if (keyValue && !LIST_ITEM.test(prefix)) {
    const section = enclosingPath(lines, lineNo, keyValue[1].length);
    if (section === null) return NONE;
    const key = join(section, keyValue[2]);
    const rest = keyValue[3] ?? '';
    const flow = rest.lastIndexOf('[');
    if (flow >= 0) {
      const inside = rest.slice(flow + 1);
      const partial = inside.slice(inside.lastIndexOf(',') + 1).trimStart();
      const afterCursor = line.slice(character);
      const tail = afterCursor.slice(afterCursor.search(/,|\]|$/));
      const following = tail.startsWith(',') ? tail.slice(1, tail.includes(']') ? tail.indexOf(']') : undefined).split(',') : [];
      const listItems = [...inside.split(',').slice(0, -1), ...following].map(unquote).filter(Boolean);
      return {
        kind: 'value',
        key,
        partial,
        range: rangeFrom(character - partial.length, wordAfter(line, character)),
        inList: true,
        listItems,
      };
    }
    const partial = rest.trimStart();
    const valueEnd = Math.max(character, line.replace(/\s+#.*$/, '').trimEnd().length);
    return { kind: 'value', key, partial, range: rangeFrom(character - partial.length, valueEnd), inList: false, listItems: [] };
  }
  return NONE;
}

function unquote(text: string): string {
  return text.trim().replace(/^["']|["']$/g, '');
}

/** The other items of a block list around `lineIndex` (same indent, '- ' lines). */
function siblingItems(lines: readonly string[], lineIndex: number, indent: number): string[] {
  const items: string[] = [];
  for (const step of [-1, 1]) {
    for (let i = lineIndex + step; i >= 0 && i < lines.length; i += step) {
      const line = lines[i];
      if (isBlankOrComment(line)) continue;
      const match = LIST_ITEM.exec(line);
      if (!match || match[1].length !== indent) break;
      items.push(unquote(match[2].replace(/\s+#.*$/, '')));
    }
  }
  return items;
}
