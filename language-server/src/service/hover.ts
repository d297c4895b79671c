// Hover on every key (documentation, default, range, the article's finding, the value in other
// units) and on enum values, sections and sweep entries (what each variant gets).
import { MarkupKind, type Hover } from 'vscode-languageserver-types';
import { childKeys, hoverText, keySpec, type LoraLabConfig, type Position, type Range } from '../config';
import type { ConfigAnalysis } from './analysis';
import { formatCount, formatShare } from '../lib/format';
import { checkpointParams } from './checkpoint';
import { SECTION_DOCS } from './snippets';
import { availableTasks, taskSummary } from '../eval/task-names';

export function contains(range: Range, position: Position): boolean {
  const after = position.line > range.start.line || (position.line === range.start.line && position.character >= range.start.character);
  const before = position.line < range.end.line || (position.line === range.end.line && position.character <= range.end.character);
  return after && before;
}

const count = (n: number): string => formatCount(n);

/** JSON for display; YAML aliases can make a value refer to itself, which JSON.stringify rejects. */
export function displayJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '(a value that refers to itself)';
  }
}

/** The article counted micro-batch iterations (max_iters); we count optimizer steps. */
function stepsInOtherUnits(steps: number, config: LoraLabConfig): string {
  const { global_batch_size: global, micro_batch_size: micro } = config.train;
  const accumulation = global / micro;
  return `${count(steps)} optimizer steps = ${count(steps * accumulation)} micro-batch iterations (the article's \`max_iters\`, at ${global} / ${micro} = ${Number(accumulation.toFixed(3))} micro-batches per step) = ${count(steps * global)} examples.`;
}

/** Extra lines for a key, computed from the resolved config: units, accumulation, scale, parameter counts. */
export function conversions(key: string, config: LoraLabConfig, analysis?: ConfigAnalysis): string[] {
  const { train, lora } = config;
  const lines: string[] = [];
  const spec = keySpec(key);
  if (key === 'train.max_steps') {
    lines.push(
      train.max_steps === null ? `Not set: train.epochs (${train.epochs}) decides the length.` : stepsInOtherUnits(train.max_steps, config),
    );
    lines.push(
      `The article's 50,000 micro-batch iterations at global batch 128 and micro-batch 1 are 50,000 / 128 = ~390 optimizer steps.`,
    );
  } else if (key === 'train.epochs') {
    lines.push(
      train.max_steps === null
        ? `One epoch = ceil(training records / ${train.global_batch_size}) optimizer steps.`
        : `Ignored: train.max_steps (${train.max_steps}) is set.`,
    );
  } else if (key === 'train.global_batch_size' || key === 'train.micro_batch_size') {
    const accumulation = train.global_batch_size / train.micro_batch_size;
    lines.push(
      `Gradient accumulation: ${train.global_batch_size} / ${train.micro_batch_size} = ${Number.isInteger(accumulation) ? accumulation : `${accumulation.toFixed(3)} (not whole: an error)`} micro-batches per optimizer step.`,
    );
  } else if (spec?.units === 'optimizer steps') {
    const value = config.train[key.slice('train.'.length) as keyof LoraLabConfig['train']];
    if (typeof value === 'number') lines.push(stepsInOtherUnits(value, config));
  } else if (key === 'lora.alpha' || key === 'lora.r' || key === 'lora.rslora') {
    const scale = lora.rslora ? lora.alpha / Math.sqrt(lora.r) : lora.alpha / lora.r;
    lines.push(
      `Adapter scale: ${lora.rslora ? `alpha / sqrt(r) = ${lora.alpha} / sqrt(${lora.r})` : `alpha / r = ${lora.alpha} / ${lora.r}`} = ${Number(scale.toPrecision(4))}${lora.alpha === 2 * lora.r ? ' (alpha = 2r, as the article recommends)' : `; alpha = 2r would be ${2 * lora.r}`}.`,
    );
  }
  if (
    analysis &&
    config.train.method === 'lora' &&
    (key === 'lora.r' || ['query', 'key', 'value', 'projection', 'mlp', 'head'].some((target) => key === `lora.${target}`))
  ) {
    const counts = checkpointParams(analysis, config);
    if (typeof counts !== 'string') {
      lines.push(
        `Trainable with these settings: ${count(counts.trainable)} of ${count(counts.base)} parameters (${formatShare(counts.trainable, counts.base)}).`,
      );
    }
  }
  return lines;
}

function markdownHover(value: string, range: Range): Hover {
  return { contents: { kind: MarkupKind.Markdown, value }, range };
}

/** The hover at `position`, or null where there is nothing to say. */
export function hover(analysis: ConfigAnalysis, position: Position): Hover | null {
  const { locations, config, variants } = analysis.parsed;
  for (const [key, location] of locations) {
    if (key.includes('[')) continue;
    const onKey = contains(location.keyRange, position);
    const sweepKey = key.startsWith('sweep.') ? key.slice('sweep.'.length) : null;
    const spec = keySpec(sweepKey ?? key);
    if (onKey && !spec) {
      if (key === 'sweep')
        return markdownHover(
          `**sweep**\n\n${SECTION_DOCS.sweep}\n\nThis file expands to ${variants.length} run${variants.length === 1 ? '' : 's'}.`,
          location.keyRange,
        );
      if (SECTION_DOCS[key])
        return markdownHover(`**${key}**\n\n${SECTION_DOCS[key]}\n\nKeys: ${childKeys(key).join(', ')}.`, location.keyRange);
      continue;
    }
    if (!spec) continue;
    if (onKey) {
      const extra = sweepKey
        ? sweepValues(
            sweepKey,
            variants.map((variant) => variant.overrides),
          )
        : conversions(key, config, analysis);
      return markdownHover([hoverText(spec), ...(extra.length ? ['', ...extra] : [])].join('\n'), location.keyRange);
    }
    if (!sweepKey && spec.choiceDocs && contains(location.valueRange, position)) {
      const value = analysis.parsed.setValues.get(key);
      if (typeof value === 'string' && spec.choiceDocs[value])
        return markdownHover(`**${key}: ${value}**\n\n${spec.choiceDocs[value]}`, location.valueRange);
    }
  }
  const tasks = locations.get('eval.tasks');
  if (tasks && contains(tasks.valueRange, position)) {
    const task = evalTaskAt(analysis, position);
    if (task) return task;
  }
  for (const [key, location] of locations) {
    const match = /^sweep\.(.+)\[(\d+)\]$/.exec(key);
    if (!match || !contains(location.valueRange, position)) continue;
    const used = variantsUsingItem(config, match[1], Number(match[2]));
    const values = [
      ...new Set(variants.filter((variant) => used(variant.index)).map((variant) => displayJson(variant.overrides[match[1]]))),
    ];
    const written = config.sweep.find((entry) => entry.key === match[1])?.values[Number(match[2])];
    const text = values.length
      ? `gives ${values.join(', ')} in variant${values.length === 1 && used.count === 1 ? '' : 's'} ${variants
          .filter((variant) => used(variant.index))
          .map((variant) => variant.index)
          .join(', ')}`
      : 'is used by no valid variant';
    return markdownHover(`**${match[1]}** = \`${displayJson(written)}\` ${text}.`, location.valueRange);
  }
  return null;
}

function sweepValues(key: string, overrides: Array<Record<string, unknown>>): string[] {
  const values = [...new Set(overrides.map((entry) => displayJson(entry[key])).filter((value) => value !== undefined))];
  return values.length ? [`Swept: ${values.join(', ')} over ${overrides.length} variant${overrides.length === 1 ? '' : 's'}.`] : [];
}

/**
 * Which variant indices use value `itemIndex` of sweep key `key`: the sweep's mixed-radix numbering
 * over its valid entries (sweepable keys with values), the first entry varying slowest.
 */
function variantsUsingItem(config: LoraLabConfig, key: string, itemIndex: number): ((variantIndex: number) => boolean) & { count: number } {
  const entries = config.sweep.filter((entry) => keySpec(entry.key)?.sweepable && entry.values.length > 0);
  const position = entries.findIndex((entry) => entry.key === key);
  const stride = entries.slice(position + 1).reduce((product, entry) => product * entry.values.length, 1);
  const size = position < 0 ? 1 : entries[position].values.length;
  const test = (variantIndex: number): boolean => position >= 0 && Math.floor(variantIndex / stride) % size === itemIndex;
  const total = entries.reduce((product, entry) => product * entry.values.length, 1);
  return Object.assign(test, { count: position < 0 ? 0 : total / size });
}

/** The eval task name under the cursor: what kind of task it is and how it is scored. */
function evalTaskAt(analysis: ConfigAnalysis, position: Position): Hover | null {
  const line = analysis.lines[position.line] ?? '';
  const before = /\w*$/.exec(line.slice(0, position.character))![0];
  const after = /^\w*/.exec(line.slice(position.character))![0];
  const task = before + after;
  if (!task) return null;
  const info = availableTasks(analysis.parsed.config, analysis.fs).tasks.find((t) => t.name === task);
  if (!info) return null;
  const range: Range = {
    start: { line: position.line, character: position.character - before.length },
    end: { line: position.line, character: position.character + after.length },
  };
  const where = info.builtin
    ? 'Its data ships with LoRA Lab'
    : `Defined in ${info.file}${info.problem ? `; it has a problem: ${info.problem.message}` : ''}`;
  return markdownHover(
    [
      `**${task}** (${info.builtin ? 'built-in' : 'custom'} evaluation task: ${taskSummary(info)}).`,
      ...(info.spec.description ? ['', info.spec.description] : []),
      '',
      `${where}; \`lora-lab eval --tasks ${task}\` scores it.`,
    ].join('\n'),
    range,
  );
}
