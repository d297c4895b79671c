// The CLI side of a config: --set key=value overrides typed by the schema, validation without a
// file position, run names and the config hash.
import { KEY_SPECS, keySpec } from './schema';
import { closestMatch } from './suggest';
import { withValue } from './resolve';
import { checkCrossKeys, checkFiles } from './rules';
import { canonicalJson, sha256Hex } from './hash';
import { cutForMessage, valueFromText } from './values';
import { isSweep, selectVariant, variantCount, type SweepVariant } from './sweep';
import { ConfigError, ZERO_RANGE, type FileSystem, type LoraLabConfig, type Problem } from './types';

/**
 * Applies `--set key=value` overrides ('lora.r=16', 'train.betas=[0.9,0.95]', 'train.max_steps=null').
 * Values are typed by the schema; throws ConfigError naming the key on any bad override.
 */
export function applyOverrides(
  config: LoraLabConfig,
  assignments: readonly string[],
): { config: LoraLabConfig; overrides: Record<string, unknown> } {
  let next = config;
  const overrides: Record<string, unknown> = {};
  for (const written of assignments) {
    const assignment = cutForMessage(written);
    const equals = written.indexOf('=');
    if (equals <= 0) throw new ConfigError(`--set ${assignment}: expected key=value, e.g. --set lora.r=16.`);
    const key = written.slice(0, equals).trim();
    const spec = keySpec(key);
    if (!spec) {
      const suggestion = closestMatch(
        key,
        KEY_SPECS.map((entry) => entry.key),
      );
      throw new ConfigError(
        `--set ${assignment}: '${cutForMessage(key)}' is not a config key${suggestion ? `; did you mean '${suggestion}'?` : '.'}`,
      );
    }
    const check = valueFromText(spec, written.slice(equals + 1));
    if (!check.ok) throw new ConfigError(`--set ${assignment}: ${check.message}`);
    next = withValue(next, key, check.value);
    overrides[key] = check.value;
  }
  return { config: next, overrides };
}

/** Cross-key rules (and file rules with `fs`) on a resolved config, e.g. after overrides; no positions. */
export function validateConfig(config: LoraLabConfig, fs?: FileSystem): Problem[] {
  const rules = [...checkCrossKeys(config), ...(fs ? checkFiles(config, fs) : [])];
  return rules.map((rule) => ({ ...rule, range: ZERO_RANGE }));
}

export interface RunConfig {
  /** The config one run trains with: the sweep variant's values, then the --set overrides. */
  config: LoraLabConfig;
  /** Variant index, or null when the file has no sweep. */
  variant: number | null;
  variants: number;
  /** Sweep values of the variant plus the --set overrides (these win), by dotted key. */
  overrides: Record<string, unknown>;
  hash: string;
  /** Warnings and hints of the final config (errors are thrown). */
  problems: Problem[];
}

/**
 * The config of one run from a parsed file: `variant` picks a sweep variant (required when the file
 * has a sweep and it has more than one), `sets` are --set key=value overrides applied after it.
 * Throws ConfigError when the variant is missing or out of range, an override is bad, or the final
 * config breaks a rule (file rules too when `fs` is given).
 */
export function resolveRunConfig(
  config: LoraLabConfig,
  options: { variant?: number | null; sets?: readonly string[]; fs?: FileSystem } = {},
): RunConfig {
  const count = variantCount(config);
  let variant: SweepVariant | null = null;
  if (isSweep(config)) {
    if ((options.variant === undefined || options.variant === null) && count > 1) {
      throw new ConfigError(`${config.configPath} is a sweep of ${count} variants: choose one with --variant 0..${count - 1}.`);
    }
    variant = selectVariant(config, options.variant ?? 0);
  } else if (options.variant !== undefined && options.variant !== null && options.variant !== 0) {
    throw new ConfigError(`${config.configPath} has no sweep: --variant ${options.variant} does not exist (only 0).`);
  }
  const applied = applyOverrides(variant?.config ?? config, options.sets ?? []);
  const problems = validateConfig(applied.config, options.fs);
  const errors = problems.filter((problem) => problem.severity === 'error');
  if (errors.length)
    throw new ConfigError(errors.map((problem) => `${config.configPath}: ${problem.key}: ${problem.message}`).join('\n'), errors);
  return {
    config: applied.config,
    variant: variant ? variant.index : null,
    variants: count,
    overrides: { ...(variant?.overrides ?? {}), ...applied.overrides },
    hash: configHash(applied.config),
    problems,
  };
}

function utcStamp(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}-${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

/** `<name>-<variant>-<UTC YYYYMMDD-HHMMSS>`, or `<name>-<UTC ...>` when not a sweep variant (variantIndex null). */
export function runName(name: string, variantIndex: number | null, date: Date): string {
  return variantIndex === null ? `${name}-${utcStamp(date)}` : `${name}-${variantIndex}-${utcStamp(date)}`;
}

/** 16 hex digits identifying what a run trains: every setting except name, file path and sweep. */
export function configHash(config: LoraLabConfig): string {
  const { name: _name, configPath: _configPath, sweep: _sweep, ...settings } = config;
  return sha256Hex(canonicalJson(settings)).slice(0, 16);
}
