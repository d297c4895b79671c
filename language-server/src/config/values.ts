// Checks one value against its key's schema entry (type, range, choices) and converts command-line
// text ('--set lora.r=16') to a typed value. Shared by parse, sweeps and overrides.
import { describeRange, type KeySpec } from './schema';
import { closestMatch } from './suggest';
import type { ProblemCode } from './types';

export type ValueCheck = { ok: true; value: unknown } | { ok: false; code: ProblemCode; message: string; data?: Record<string, unknown> };

/** Longest text of a value echoed into a message; longer values are cut ('...' and their length). */
export const MAX_ECHOED_CHARS = 60;

/** A key or value for a message, cut to MAX_ECHOED_CHARS so a 1 MB value gives a short message. */
export function cutForMessage(text: string): string {
  return text.length <= MAX_ECHOED_CHARS ? text : `${text.slice(0, MAX_ECHOED_CHARS)}... (${text.length} characters)`;
}

/** JSON text of a string for a message, cut like cutForMessage. */
export function quoteForMessage(text: string): string {
  if (text.length <= MAX_ECHOED_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, MAX_ECHOED_CHARS))}... (${text.length} characters)`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'string') return `the string ${quoteForMessage(value)}`;
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

function checkNumber(spec: KeySpec, value: number, what: string): ValueCheck | null {
  const low = spec.min !== undefined && (spec.minExclusive ? value <= spec.min : value < spec.min);
  const high = spec.max !== undefined && (spec.maxExclusive ? value >= spec.max : value > spec.max);
  if (low || high) {
    return { ok: false, code: 'out-of-range', message: `${what} is ${value}, out of range: it must be ${describeRange(spec)}.` };
  }
  return null;
}

/** Beyond 2^53 a double cannot hold every integer (100000000000000000001 silently becomes ...000): refused. */
function checkSafeInteger(value: number, what: string): ValueCheck | null {
  if (Number.isSafeInteger(value)) return null;
  return {
    ok: false,
    code: 'out-of-range',
    message: `${what} is ${value}, out of range: an integer must be between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER} (2^53 - 1) to be held exactly.`,
  };
}

/** Checks a parsed (YAML/JSON) value for `spec`; the message names the key. */
export function checkValue(spec: KeySpec, value: unknown): ValueCheck {
  const what = `'${spec.key}'`;
  if (value === null || value === undefined) {
    if (spec.nullable) return { ok: true, value: null };
    return {
      ok: false,
      code: 'wrong-type',
      message: `${what} needs a value (${expected(spec)}); remove the key to use the default ${JSON.stringify(spec.default)}.`,
    };
  }
  const wrongType = (): ValueCheck => ({
    ok: false,
    code: 'wrong-type',
    message: `${what} expects ${expected(spec)} but got ${typeName(value)}.`,
  });
  switch (spec.type) {
    case 'string':
    case 'path':
      if (typeof value !== 'string' || value.trim() === '') return wrongType();
      if (spec.type === 'string' && spec.pattern && !spec.pattern.test(value)) {
        return {
          ok: false,
          code: 'out-of-range',
          message: `${what} ${quoteForMessage(value)} has characters that cannot be in a folder name: use letters, digits, '.', '_' and '-' (not starting with '.').`,
        };
      }
      return { ok: true, value };
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : wrongType();
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return wrongType();
      return checkNumber(spec, value, what) ?? checkSafeInteger(value, what) ?? { ok: true, value };
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType();
      return checkNumber(spec, value, what) ?? { ok: true, value };
    case 'enum': {
      if (typeof value !== 'string') return wrongType();
      if (spec.choices?.includes(value) || spec.pattern?.test(value)) return { ok: true, value };
      const suggestion = closestMatch(value, spec.choices ?? []);
      return {
        ok: false,
        code: 'unknown-enum-value',
        message: `${what} cannot be ${quoteForMessage(value)}${suggestion ? ` (did you mean ${suggestion}?)` : ''}: use ${describeRange(spec)}.`,
        data: { choices: spec.choices, ...(suggestion ? { suggestion } : {}) },
      };
    }
    case 'number-pair': {
      if (!Array.isArray(value) || value.length !== 2 || value.some((item) => typeof item !== 'number')) return wrongType();
      for (const item of value as number[]) {
        const bad = checkNumber(spec, item, what);
        if (bad) return bad;
      }
      return { ok: true, value: [...value] };
    }
    case 'string-list': {
      if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) return wrongType();
      // eval.tasks may also name custom task files: checked item by item with the file system (eval/task-names.ts)
      const unknown = spec.choices && spec.key !== 'eval.tasks' ? (value as string[]).filter((item) => !spec.choices?.includes(item)) : [];
      if (unknown.length) {
        return {
          ok: false,
          code: 'unknown-enum-value',
          message: `${what} has unknown ${unknown.slice(0, 5).map(quoteForMessage).join(', ')}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}: choose from ${spec.choices?.join(', ')}.`,
          data: { choices: spec.choices, unknown },
        };
      }
      return { ok: true, value: [...value] };
    }
  }
}

export function expected(spec: KeySpec): string {
  const base: Record<KeySpec['type'], string> = {
    string: 'a string',
    path: 'a path (string)',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    enum: `one of ${spec.choices?.join(', ')}`,
    'number-pair': 'a list of two numbers',
    'string-list': 'a list of strings',
  };
  return base[spec.type] + (spec.nullable ? ' or null' : '');
}

/**
 * Converts command-line text to a value of the key's type ('16' -> 16, 'true' -> true,
 * 'null' -> null, '[0.9, 0.95]' -> [0.9, 0.95]) and checks it. Strings stay strings.
 */
export function valueFromText(spec: KeySpec, text: string): ValueCheck {
  const trimmed = text.trim();
  let value: unknown = trimmed;
  if (trimmed === 'null' || trimmed === '~') value = null;
  else if (spec.type === 'integer' || spec.type === 'number') value = trimmed === '' ? trimmed : Number(trimmed);
  else if (spec.type === 'boolean') value = trimmed === 'true' ? true : trimmed === 'false' ? false : trimmed;
  else if (spec.type === 'number-pair' || spec.type === 'string-list') {
    const items = trimmed
      .replace(/^\[|\]$/g, '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    value = spec.type === 'number-pair' ? items.map(Number) : items.map((item) => item.replace(/^["']|["']$/g, ''));
  }
  if (typeof value === 'number' && Number.isNaN(value)) {
    return { ok: false, code: 'wrong-type', message: `'${spec.key}' expects ${expected(spec)} but got ${quoteForMessage(text)}.` };
  }
  return checkValue(spec, value);
}
