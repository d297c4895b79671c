// Builds the resolved config from the values a file sets: defaults from the schema, paths made
// absolute against the config file's folder; and sets one dotted key on a resolved config.
import { KEY_SPECS, keySpec } from './schema';
import { basenameOf, dirnameOf, resolvePath } from './paths';
import type { LoraLabConfig, SweepEntry } from './types';

/** The run name a file gets when it sets none: its file name without .lora.yaml (.yaml, .yml). */
export function defaultRunName(configPath: string): string {
  const base = basenameOf(configPath)
    .replace(/(\.lora)?\.ya?ml$/i, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^\.+/, '');
  return base || 'run';
}

/**
 * Sets `dottedKey` to an already checked value on `config` itself, resolving path keys against
 * the config file's folder. For building configs; everyone else uses withValue.
 */
export function setValueInPlace(config: LoraLabConfig, dottedKey: string, value: unknown): void {
  const spec = keySpec(dottedKey);
  if (!spec) throw new Error(`setValueInPlace: '${dottedKey}' is not a config key`);
  let resolved = value;
  if (spec.type === 'path' && typeof value === 'string') resolved = resolvePath(dirnameOf(config.configPath), value);
  if (dottedKey === 'name' && value === null) resolved = defaultRunName(config.configPath);
  const parts = dottedKey.split('.');
  let target = config as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) target = target[part] as Record<string, unknown>;
  target[parts[parts.length - 1]] = Array.isArray(resolved) ? [...resolved] : resolved;
}

/** A copy that shares nothing mutable with `config` (sections, lists and sweep entries are copied). */
export function cloneConfig(config: LoraLabConfig): LoraLabConfig {
  return {
    ...config,
    model: { ...config.model },
    lora: { ...config.lora },
    data: { ...config.data },
    train: { ...config.train, betas: [...config.train.betas] },
    eval: { ...config.eval, tasks: [...config.eval.tasks] },
    sweep: config.sweep.map((entry) => ({ key: entry.key, values: [...entry.values] })),
  };
}

/** A copy of `config` with `dottedKey` set (paths resolved against the config file's folder). */
export function withValue(config: LoraLabConfig, dottedKey: string, value: unknown): LoraLabConfig {
  const next = cloneConfig(config);
  setValueInPlace(next, dottedKey, value);
  return next;
}

/** Reads a dotted key from a resolved config (undefined for an unknown key). */
export function valueAt(config: LoraLabConfig, dottedKey: string): unknown {
  let current: unknown = config;
  for (const part of dottedKey.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Defaults, then the checked values the file sets (dotted key -> value). */
export function resolveConfig(setValues: ReadonlyMap<string, unknown>, configPath: string, sweep: SweepEntry[] = []): LoraLabConfig {
  const config = { configPath, sweep, name: defaultRunName(configPath) } as unknown as LoraLabConfig;
  const skeleton = config as unknown as Record<string, Record<string, unknown>>;
  for (const spec of KEY_SPECS) {
    const parts = spec.key.split('.');
    if (parts.length === 2) skeleton[parts[0]] ??= {};
  }
  for (const spec of KEY_SPECS) {
    if (spec.key === 'name') continue;
    setValueInPlace(config, spec.key, setValues.has(spec.key) ? setValues.get(spec.key) : spec.default);
  }
  if (setValues.has('name')) setValueInPlace(config, 'name', setValues.get('name'));
  return config;
}
