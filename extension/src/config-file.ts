// What the host reads from a *.lora.yaml (or a run's config.yaml), through the config library's
// parseConfig (the schema's defaults, expressions and sweep expansion, no second reading of the YAML):
// the summary shown in tooltips and the dashboard, the device a run will use (for the queue), how many
// sweep variants it has, and the base checkpoint of a run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig, type ParsedConfig } from '../../language-server/src/config/parse';
import type { LoraLabConfig } from '../../language-server/src/config/types';
import type { ConfigSummary } from '../../webview/src/protocol';

/** LoRA target switches and the labels the summary shows for them, in display order. */
const TARGETS: [key: 'query' | 'key' | 'value' | 'projection' | 'mlp' | 'head', label: string][] = [
  ['query', 'q'],
  ['key', 'k'],
  ['value', 'v'],
  ['projection', 'o'],
  ['mlp', 'mlp'],
  ['head', 'head'],
];

/** The summary of a resolved config (keys the file leaves out have the schema's defaults). */
export function summarizeConfig(config: LoraLabConfig): ConfigSummary {
  const { model, lora, train } = config;
  return {
    method: train.method,
    precision: model.precision,
    r: lora.r,
    alpha: lora.alpha,
    targets: TARGETS.filter(([key]) => lora[key]).map(([, label]) => label),
    quantize: model.quantize,
    optimizer: train.optimizer,
    learningRate: train.learning_rate,
    globalBatchSize: train.global_batch_size,
    microBatchSize: train.micro_batch_size,
  };
}

/** Parses config text (relative paths resolve against `filePath`'s folder); undefined when the YAML does not parse. */
export function parseConfigText(text: string, filePath: string): ParsedConfig | undefined {
  const parsed = parseConfig(text, filePath);
  return parsed.problems.some((problem) => problem.code === 'yaml-syntax') ? undefined : parsed;
}

/** The summary of `<run>/config.yaml`, or null when the file is missing or broken. */
export function readRunConfigSummary(runDir: string): ConfigSummary | null {
  const file = path.join(runDir, 'config.yaml');
  try {
    const parsed = parseConfigText(fs.readFileSync(file, 'utf8'), file);
    return parsed ? summarizeConfig(parsed.config) : null;
  } catch {
    return null;
  }
}

/**
 * The queue's device key of a config: 'cpu', 'cuda:N' ('cuda' is 'cuda:0'), or 'auto' (which the
 * trainer resolves itself, so the queue treats it as sharing every device).
 */
export function deviceKey(value: unknown): string {
  const device = typeof value === 'string' ? value.trim() : 'auto';
  if (device === 'cpu') return 'cpu';
  if (device === 'cuda') return 'cuda:0';
  return /^cuda:\d+$/.test(device) ? device : 'auto';
}

/** Number of runs a config makes: its valid sweep variants (1 without a sweep). */
export function sweepVariantCount(parsed: ParsedConfig): number {
  return Math.max(1, parsed.variants.length);
}

/** The device key, variant count and run name of a config file on disk. */
export function readConfigPlan(configPath: string): { device: string; variants: number; name: string } {
  const parsed = parseConfig(fs.readFileSync(configPath, 'utf8'), configPath);
  return { device: deviceKey(parsed.config.device), variants: sweepVariantCount(parsed), name: parsed.config.name };
}

/**
 * The base checkpoint a run trained on: model.checkpoint of `<run>/config.yaml`, a relative path
 * resolved against the folder of the config the run came from. Undefined when unknown.
 */
export function baseCheckpointOf(runDir: string, configPath: string): string | undefined {
  try {
    const parsed = parseConfigText(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8'), configPath);
    return parsed?.setValues.has('model.checkpoint') ? parsed.config.model.checkpoint : undefined;
  } catch {
    return undefined;
  }
}

/** A resolved config's settings flattened to `section.key` -> display text (arrays and objects as JSON). */
export function flattenSettings(config: LoraLabConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (value: unknown, prefix: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, prefix ? `${prefix}.${key}` : key);
    } else if (value !== undefined) {
      out[prefix] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  };
  walk(config, '');
  return out;
}

/** The summary and flattened settings of `<run>/config.yaml` (null when missing or broken). */
export function readRunConfig(runDir: string): { summary: ConfigSummary; settings: Record<string, string> } | null {
  const file = path.join(runDir, 'config.yaml');
  try {
    const parsed = parseConfigText(fs.readFileSync(file, 'utf8'), file);
    return parsed ? { summary: summarizeConfig(parsed.config), settings: flattenSettings(parsed.config) } : null;
  } catch {
    return null;
  }
}

const sweepPlans = new Map<string, { mtimeMs: number; plan: Record<string, unknown>[] }>();

/** Every variant's overrides of a config's sweep, by index (cached per file and mtime); [] without one. */
export function sweepPlanOf(configPath: string): Record<string, unknown>[] {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(configPath).mtimeMs;
  } catch {
    return [];
  }
  const cached = sweepPlans.get(configPath);
  if (cached?.mtimeMs === mtimeMs) return cached.plan;
  let plan: Record<string, unknown>[] = [];
  try {
    plan = parseConfig(fs.readFileSync(configPath, 'utf8'), configPath).variants.map((v) => v.overrides);
  } catch {
    plan = [];
  }
  sweepPlans.set(configPath, { mtimeMs, plan });
  return plan;
}
