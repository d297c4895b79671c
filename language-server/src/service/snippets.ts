// Snippets and section summaries: a whole new config (the article's defaults), a sweep block, and
// one line per top-level section for completion details and hovers.
import { KEY_SPECS, SECTIONS, type KeySpec } from '../config';

export const SECTION_DOCS: Readonly<Record<string, string>> = {
  model: 'The base checkpoint and how its weights are stored (precision, 4-bit quantization).',
  lora: 'The LoRA adapters: rank, alpha, dropout and which linear layers get them.',
  data: 'The dataset, its prompt template and how it is split and truncated.',
  train: 'The optimisation: method, batch sizes, length, optimizer, schedule, intervals.',
  eval: 'Evaluation after training: tasks, local task data, few-shot and batch size.',
  sweep:
    'A grid of runs: each key is a dotted config key with a list of values; every combination is one run. A string starting with = is an expression over keys (="2*lora.r").',
};

/** A value as YAML text inside a snippet ($, } and \ escaped). */
export function snippetValue(value: unknown): string {
  const text =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? `[${value.map((item) => (typeof item === 'string' ? item : String(item))).join(', ')}]`
        : String(value);
  return text.replace(/[$}\\]/g, (ch) => `\\${ch}`);
}

/** The value placeholder of a key's snippet: a choice list for enums and booleans, else the default. */
export function valuePlaceholder(spec: KeySpec, tabStop: number): string {
  if (spec.type === 'enum' && spec.choices) {
    const choices = [String(spec.default), ...spec.choices.filter((choice) => choice !== spec.default)];
    return `\${${tabStop}|${choices.join(',')}|}`;
  }
  if (spec.type === 'boolean') return `\${${tabStop}|${spec.default ? 'true,false' : 'false,true'}|}`;
  return `\${${tabStop}:${snippetValue(spec.default)}}`;
}

/** A complete config with every section and the article's defaults, tab stops on the values to change. */
export function newConfigSnippet(): string {
  const lines = ['name: ${1:my-run}'];
  let tabStop = 2;
  const important = new Set([
    'model.checkpoint',
    'model.precision',
    'model.quantize',
    'lora.r',
    'lora.alpha',
    'data.path',
    'train.global_batch_size',
    'train.micro_batch_size',
    'train.max_steps',
    'device',
  ]);
  for (const section of SECTIONS) {
    lines.push(`${section}:`);
    for (const spec of KEY_SPECS.filter((entry) => entry.key.startsWith(`${section}.`))) {
      const name = spec.key.slice(section.length + 1);
      lines.push(`  ${name}: ${important.has(spec.key) ? valuePlaceholder(spec, tabStop++) : snippetValue(spec.default)}`);
    }
  }
  lines.push(
    `device: ${valuePlaceholder(
      KEY_SPECS.find((spec) => spec.key === 'device')!,
      tabStop++,
    )}`,
  );
  lines.push(`out_dir: ${snippetValue(KEY_SPECS.find((spec) => spec.key === 'out_dir')!.default)}`);
  lines.push('$0');
  return lines.join('\n');
}

/** A sweep over rank with alpha = 2r (the article's best ratio). */
export function sweepSnippet(): string {
  return ['sweep:', '  ${1:lora.r}: [${2:8, 16, 32, 64, 128, 256}]', '  lora.alpha: ["=2*lora.r"]', '$0'].join('\n');
}
