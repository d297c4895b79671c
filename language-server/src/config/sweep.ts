// Sweep expansion: every combination of the listed values is one variant, with a stable index
// (the first sweep key varies slowest, like itertools.product) and its overrides. '=expr' values
// are evaluated per variant against that variant's config. Bounded: at most MAX_SWEEP_VARIANTS
// variants, each literal value is checked once (not once per variant), and a deadline can stop it.
import { ExpressionError, evaluateExpression, parseExpression, type Expression } from './expression';
import { KEY_SPECS, keySpec } from './schema';
import { closestMatch } from './suggest';
import { cloneConfig, setValueInPlace, valueAt } from './resolve';
import { checkValue, cutForMessage, type ValueCheck } from './values';
import { checkDeadline, type Deadline } from './deadline';
import { ConfigError, type LoraLabConfig, type Problem, type ProblemCode, ZERO_RANGE } from './types';

/** A sweep with more combinations than this is an error (README "The config file" documents it). */
export const MAX_SWEEP_VARIANTS = 1024;

export interface SweepVariant {
  /** 0-based, stable for a given sweep: the mixed-radix number of the value choices. */
  index: number;
  /** The sweep keys' values of this variant, expressions evaluated: { 'lora.r': 16, 'lora.alpha': 32 }. */
  overrides: Record<string, unknown>;
  config: LoraLabConfig;
}

export interface SweepIssue {
  /** The sweep key as written ('lora.alpha'). */
  key: string;
  /** Index of the offending value in the key's list, when one value is at fault. */
  valueIndex?: number;
  /** 0-based column inside the expression text (after '='), for expression errors. */
  column?: number;
  code: ProblemCode;
  message: string;
  data?: Record<string, unknown>;
}

export function isSweep(config: LoraLabConfig): boolean {
  return config.sweep.length > 0;
}

function isExpression(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('=');
}

/** Number of variants (1 without a sweep). */
export function variantCount(config: LoraLabConfig): number {
  return config.sweep.reduce((count, entry) => count * Math.max(1, entry.values.length), 1);
}

/**
 * Expands the sweep and reports every problem (unknown keys, bad expressions, values that fail the
 * schema) instead of throwing. Without a sweep: one variant with index 0 and no overrides.
 */
export function checkSweep(config: LoraLabConfig, deadline?: Deadline): { variants: SweepVariant[]; issues: SweepIssue[] } {
  const issues: SweepIssue[] = [];
  const seen = new Set<string>();
  const report = (issue: SweepIssue): void => {
    const id = `${issue.key}|${issue.valueIndex}|${issue.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      issues.push(issue);
    }
  };
  const sweepable = KEY_SPECS.filter((spec) => spec.sweepable).map((spec) => spec.key);
  const entries = config.sweep.filter((entry) => {
    const spec = keySpec(entry.key);
    if (spec?.sweepable) {
      if (entry.values.length === 0)
        report({ key: entry.key, code: 'sweep-bad-value', message: `sweep '${entry.key}' has no values: list at least one.` });
      return entry.values.length > 0;
    }
    const suggestion = closestMatch(entry.key, sweepable);
    const section = !spec && KEY_SPECS.some((candidate) => candidate.key.startsWith(`${entry.key}.`));
    const message = spec
      ? `sweep '${entry.key}' cannot be swept.`
      : section
        ? `sweep keys are dotted: write '${entry.key}.<key>: [values]' (e.g. lora.r: [8, 16]) instead of a nested '${entry.key}:' mapping.`
        : `sweep key '${cutForMessage(entry.key)}' is not a config key${suggestion ? `: did you mean '${suggestion}'?` : '.'}`;
    report({ key: entry.key, code: 'sweep-unknown-key', message, data: suggestion ? { suggestion } : undefined });
    return false;
  });
  const total = entries.reduce((count, entry) => count * entry.values.length, 1);
  if (total > MAX_SWEEP_VARIANTS) {
    const widest = entries.reduce((most, entry) => (entry.values.length > most.values.length ? entry : most), entries[0]);
    const counts = entries.map((entry) => `${entry.key}: ${entry.values.length} values`).join(', ');
    report({
      key: widest.key,
      code: 'sweep-too-large',
      message: `the sweep has ${total} variants (${counts}); at most ${MAX_SWEEP_VARIANTS} are allowed: list fewer values under '${widest.key}' or split the sweep into several files.`,
      data: { variants: total, limit: MAX_SWEEP_VARIANTS },
    });
    return { variants: [], issues };
  }
  const parsed = new Map<string, Expression | ExpressionError>();
  // a literal value does not depend on the variant: check it once, not once per variant
  const literalChecks = new Map<string, ValueCheck>();
  entries.forEach((entry) =>
    entry.values.forEach((value, valueIndex) => {
      if (!isExpression(value)) literalChecks.set(`${entry.key}#${valueIndex}`, checkLiteral(entry.key, value));
    }),
  );
  entries.forEach((entry) =>
    entry.values.forEach((value, valueIndex) => {
      if (!isExpression(value)) return;
      try {
        parsed.set(`${entry.key}#${valueIndex}`, parseExpression(value.slice(1)));
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        parsed.set(`${entry.key}#${valueIndex}`, error);
        report({
          key: entry.key,
          valueIndex,
          column: error.column,
          code: 'sweep-bad-expression',
          message: `sweep '${entry.key}': ${error.message} at column ${error.column + 2} of '${value}'.`,
        });
      }
    }),
  );
  const variants: SweepVariant[] = [];
  for (let index = 0; index < total; index++) {
    checkDeadline(deadline);
    const choice = new Map<string, number>();
    let rest = index;
    for (let k = entries.length - 1; k >= 0; k--) {
      choice.set(entries[k].key, rest % entries[k].values.length);
      rest = Math.floor(rest / entries[k].values.length);
    }
    const variant = buildVariant(config, entries, choice, parsed, literalChecks, report);
    if (variant) variants.push({ index, ...variant });
  }
  return { variants, issues };
}

function buildVariant(
  base: LoraLabConfig,
  entries: LoraLabConfig['sweep'],
  choice: Map<string, number>,
  parsed: Map<string, Expression | ExpressionError>,
  literalChecks: Map<string, ValueCheck>,
  report: (issue: SweepIssue) => void,
): Omit<SweepVariant, 'index'> | null {
  const config = { ...cloneConfig(base), sweep: [] };
  const overrides: Record<string, unknown> = {};
  let ok = true;
  const apply = (key: string, valueIndex: number, check: ValueCheck): void => {
    if (!check.ok) {
      report({ key, valueIndex, code: 'sweep-bad-value', message: `sweep: ${check.message}` });
      ok = false;
      return;
    }
    setValueInPlace(config, key, check.value);
    overrides[key] = check.value;
  };
  for (const entry of entries) {
    const value = entry.values[choice.get(entry.key)!];
    if (!isExpression(value)) apply(entry.key, choice.get(entry.key)!, literalChecks.get(`${entry.key}#${choice.get(entry.key)!}`)!);
  }
  const pending = new Set(entries.filter((entry) => isExpression(entry.values[choice.get(entry.key)!])).map((entry) => entry.key));
  const evaluating = new Set<string>();
  const evaluate = (key: string): void => {
    const valueIndex = choice.get(key)!;
    const expression = parsed.get(`${key}#${valueIndex}`)!;
    pending.delete(key);
    if (expression instanceof ExpressionError) {
      ok = false;
      return;
    }
    evaluating.add(key);
    try {
      const result = evaluateExpression(expression, (ref) => {
        if (evaluating.has(ref)) throw new ExpressionError(`'${ref}' refers back to '${key}' (a cycle)`, 0);
        if (pending.has(ref)) evaluate(ref);
        const spec = keySpec(ref);
        const current = valueAt(config, ref);
        if (!spec || (spec.type !== 'integer' && spec.type !== 'number') || typeof current !== 'number') return undefined;
        return current;
      });
      apply(key, valueIndex, checkLiteral(key, result));
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      report({
        key,
        valueIndex,
        column: error.column,
        code: 'sweep-bad-expression',
        message: `sweep '${key}': ${error.message} in '${choiceText(entries, key, valueIndex)}'.`,
      });
      ok = false;
    } finally {
      evaluating.delete(key);
    }
  };
  while (pending.size) evaluate(pending.values().next().value as string);
  return ok ? { overrides, config } : null;
}

/** A sweep value checked against its key's schema; a computed integer within 1e-9 of a whole number is rounded. */
function checkLiteral(key: string, value: unknown): ValueCheck {
  const spec = keySpec(key)!;
  const candidate =
    spec.type === 'integer' && typeof value === 'number' && Math.abs(value - Math.round(value)) < 1e-9 ? Math.round(value) : value;
  return checkValue(spec, candidate);
}

function choiceText(entries: LoraLabConfig['sweep'], key: string, valueIndex: number): string {
  return String(entries.find((entry) => entry.key === key)?.values[valueIndex]);
}

/** All variants; throws ConfigError listing the problems when the sweep is not valid. */
export function expandSweep(config: LoraLabConfig): SweepVariant[] {
  const { variants, issues } = checkSweep(config);
  if (issues.length) {
    const problems: Problem[] = issues.map((issue) => ({
      severity: 'error',
      message: issue.message,
      key: `sweep.${issue.key}`,
      range: ZERO_RANGE,
      code: issue.code,
      data: issue.data,
    }));
    throw new ConfigError(`${config.configPath}: invalid sweep:\n${issues.map((issue) => `  ${issue.message}`).join('\n')}`, problems);
  }
  return variants;
}

/** Variant `index` (the CLI's --variant i); throws ConfigError naming the valid range. */
export function selectVariant(config: LoraLabConfig, index: number): SweepVariant {
  const variants = expandSweep(config);
  if (!Number.isInteger(index) || index < 0 || index >= variants.length) {
    throw new ConfigError(
      `${config.configPath}: --variant ${index} does not exist: the sweep has ${variants.length} variant(s), 0..${variants.length - 1}.`,
    );
  }
  return variants[index];
}
