// What the host reads from a *.lora.yaml (or a run's config.yaml): the summary shown in tooltips
// and the dashboard, the device a run will use (for the queue), and how many sweep variants it has.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import type { ConfigSummary } from '../../webview/src/protocol';

type Doc = Record<string, unknown>;

function section(doc: Doc, name: string): Doc {
  const value = doc[name];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : {};
}

function num(value: unknown, fallback: number | null): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/** LoRA target switches and the Hugging Face module names they adapt, in display order. */
const TARGETS: [key: string, defaultOn: boolean, label: string][] = [
  ['query', true, 'q'],
  ['key', false, 'k'],
  ['value', true, 'v'],
  ['projection', false, 'o'],
  ['mlp', false, 'mlp'],
  ['head', false, 'head'],
];

/** The summary of a parsed config; keys it lacks take the defaults of CONFIG.md. */
export function summarizeConfig(value: unknown): ConfigSummary {
  const doc: Doc = typeof value === 'object' && value !== null ? (value as Doc) : {};
  const model = section(doc, 'model');
  const lora = section(doc, 'lora');
  const train = section(doc, 'train');
  const r = num(lora.r, 8);
  return {
    method: str(train.method, 'lora'),
    precision: str(model.precision, 'bf16-true'),
    r,
    alpha: num(lora.alpha, 16),
    targets: TARGETS.filter(([key, on]) => (typeof lora[key] === 'boolean' ? lora[key] : on)).map(([, , label]) => label),
    quantize: str(model.quantize, 'none'),
    optimizer: str(train.optimizer, 'adamw'),
    learningRate: num(train.learning_rate, 3e-4),
    globalBatchSize: num(train.global_batch_size, 128),
    microBatchSize: num(train.micro_batch_size, 1),
  };
}

/** Parses YAML text; undefined when it does not parse. */
export function parseConfigText(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

/** The summary of `<run>/config.yaml`, or null when the file is missing or broken. */
export function readRunConfigSummary(runDir: string): ConfigSummary | null {
  try {
    const doc = parseConfigText(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8'));
    return doc === undefined ? null : summarizeConfig(doc);
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

/** Number of runs a config makes: the product of the sweep lists' lengths (1 without a sweep). */
export function sweepVariantCount(value: unknown): number {
  const doc: Doc = typeof value === 'object' && value !== null ? (value as Doc) : {};
  const sweep = doc.sweep;
  if (typeof sweep !== 'object' || sweep === null || Array.isArray(sweep)) return 1;
  let count = 1;
  for (const values of Object.values(sweep as Doc)) count *= Array.isArray(values) ? Math.max(1, values.length) : 1;
  return count;
}

/** The device key and variant count of a config file on disk. */
export function readConfigPlan(configPath: string): { device: string; variants: number; name: string } {
  const doc = parseConfigText(fs.readFileSync(configPath, 'utf8'));
  const name = typeof (doc as Doc | undefined)?.name === 'string' ? String((doc as Doc).name) : path.basename(configPath).replace(/\.lora\.ya?ml$/i, '');
  return { device: deviceKey((doc as Doc | undefined)?.device), variants: sweepVariantCount(doc), name };
}

/**
 * The base checkpoint a run trained on: model.checkpoint of `<run>/config.yaml`, a relative path
 * resolved against the folder of the config the run came from. Undefined when unknown.
 */
export function baseCheckpointOf(runDir: string, configPath: string): string | undefined {
  try {
    const doc = parseConfigText(fs.readFileSync(path.join(runDir, 'config.yaml'), 'utf8'));
    const checkpoint = section((doc ?? {}) as Doc, 'model').checkpoint;
    if (typeof checkpoint !== 'string' || !checkpoint) return undefined;
    return path.isAbsolute(checkpoint) ? checkpoint : path.resolve(path.dirname(configPath), checkpoint);
  } catch {
    return undefined;
  }
}
