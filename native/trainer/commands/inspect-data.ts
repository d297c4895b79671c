// `lora-lab inspect-data CONFIG [--json] [--set key=value]... [--variant N]`: what the trainer will
// see of a dataset: record count, token-length distribution, truncated and masked shares, and three
// rendered examples with the masked part marked. With --ipc (the dataset panel's child process) the
// data is read leniently and progress and the report go to the parent as InspectMessages.
import { resolve } from 'node:path';
import { hubCacheDir, nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { formatProblem, parseConfig } from '../../../language-server/src/config/parse';
import { applyOverrides } from '../../../language-server/src/config/overrides';
import { selectVariant } from '../../../language-server/src/config/sweep';
import type { LoraLabConfig, ProblemCode } from '../../../language-server/src/config/types';
import { formatIssue } from '../../../language-server/src/lib/data/dataset';
import { prepareData, type PreparedData } from '../data/pipeline';
import { dataStats, type DataStats } from '../data/stats';
import { inspectDataset } from '../data/inspect';
import type { InspectMessage } from '../protocol';
import type { TokenizedExample } from '../../../language-server/src/lib/data/example';

export interface CommandOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const USAGE = 'usage: lora-lab inspect-data CONFIG [--json | --ipc] [--set key=value]... [--variant N]';
export const MASK_OPEN = '[[MASKED]]';
export const MASK_CLOSE = '[[/MASKED]]';

/** Errors about the model that do not stop a look at the data (the tokenizer is checked when loaded). */
const MODEL_ONLY: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'checkpoint-incomplete',
  'checkpoint-pickle-only',
  'checkpoint-config-unreadable',
  'rank-exceeds-dimension',
  'quantize-with-full',
  'fp16-on-cpu',
  'no-lora-target',
  'batch-size-multiple',
]);

interface Args {
  configPath: string;
  json: boolean;
  /** Forked by the host: InspectMessages over IPC, rejected rows listed instead of failing. */
  ipc: boolean;
  sets: string[];
  variant: number | null;
}

function parseArgs(args: string[]): Args | string {
  const parsed: Args = { configPath: '', json: false, ipc: false, sets: [], variant: null };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') parsed.json = true;
    else if (arg === '--ipc') parsed.ipc = true;
    else if (arg === '--set') {
      if (i + 1 >= args.length) return '--set needs key=value';
      parsed.sets.push(args[++i]);
    } else if (arg.startsWith('--set=')) parsed.sets.push(arg.slice(6));
    else if (arg === '--variant') {
      const value = Number(args[++i]);
      if (!Number.isInteger(value) || value < 0) return `--variant needs a variant index (0, 1, ...), got ${JSON.stringify(args[i] ?? '')}`;
      parsed.variant = value;
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else if (parsed.configPath) return `unexpected argument ${arg} (one CONFIG only)`;
    else parsed.configPath = arg;
  }
  return parsed.configPath ? parsed : 'missing CONFIG';
}

interface RenderedExample {
  record: number;
  line: number;
  tokens: number;
  maskedTokens: number;
  truncated: boolean;
  /** Decoded masked prefix ('' without mask_prompt). */
  masked: string;
  /** Decoded tokens that take loss. */
  trained: string;
}

/** Three examples worth looking at: the first record, the one of median length and the longest. */
function pickExamples(examples: readonly TokenizedExample[]): TokenizedExample[] {
  if (examples.length <= 3) return [...examples];
  const byLength = [...examples].sort((a, b) => a.inputIds.length - b.inputIds.length || a.id - b.id);
  const picks = [examples[0], byLength[Math.floor(byLength.length / 2)], byLength[byLength.length - 1]];
  const unique = [...new Map(picks.map((example) => [example.id, example])).values()];
  for (const example of examples) if (unique.length < 3 && !unique.includes(example)) unique.push(example);
  return unique;
}

function renderExamples(data: PreparedData): RenderedExample[] {
  return pickExamples(data.examples).map((example) => {
    const record = data.dataset.records.find((r) => r.index === example.id)!;
    const ids = [...example.inputIds];
    return {
      record: example.id,
      line: record.line,
      tokens: ids.length,
      maskedTokens: example.maskedLength,
      truncated: example.truncated,
      masked: data.tokenizer.decode(ids.slice(0, example.maskedLength)),
      trained: data.tokenizer.decode(ids.slice(example.maskedLength)),
    };
  });
}

const percent = (share: number): string => `${(100 * share).toFixed(2)}%`;

function textReport(config: LoraLabConfig, data: PreparedData, stats: DataStats, examples: RenderedExample[]): string {
  const { tokenizer, dataset } = data;
  const lines = [
    `Dataset     ${dataset.file} (${dataset.format}): ${dataset.records.length} records, ${data.train.length} train / ${data.validation.length} validation (val_split_fraction ${config.data.val_split_fraction}, seed ${config.data.seed})`,
    `Tokenizer   ${config.model.checkpoint}: vocab ${tokenizer.vocabSize}, BOS ${tokenizer.addBos ? `${tokenizer.bosToken} added` : 'not added'}, EOS ${tokenizer.eosToken} after every response`,
    `Prompts     style ${config.data.prompt_style}, mask_prompt ${config.data.mask_prompt}, max_seq_length ${config.data.max_seq_length}${data.cacheHit ? ' (tokenized data from the cache)' : ''}`,
    `Tokens      ${stats.totalTokens} in all; per example min ${stats.lengths.min}, median ${stats.lengths.median}, mean ${stats.lengths.mean.toFixed(1)}, p90 ${stats.lengths.p90}, p99 ${stats.lengths.p99}, max ${stats.lengths.max}`,
    `Truncated   ${stats.truncated} of ${stats.examples} (${percent(stats.truncatedShare)}) longer than max_seq_length ${config.data.max_seq_length}`,
    `Masked      ${stats.maskedTokens} tokens (${percent(stats.maskedShare)}) take no loss${config.data.mask_prompt ? '' : ' (mask_prompt is false)'}`,
  ];
  if (config.data.mask_prompt)
    lines.push(
      `Prefix      ${stats.prefixViolations} example(s) whose prompt tokens are not a prefix of prompt + response (only the common prefix is masked)`,
    );
  if (stats.emptyTargets)
    lines.push(`No loss     ${stats.emptyTargets} example(s) have no token that takes loss (prompt fills max_seq_length)`);
  lines.push('', 'Token lengths:');
  const widest = Math.max(1, ...stats.histogram.map((bin) => bin.count));
  const label = (bin: { from: number; to: number }): string => `${String(bin.from).padStart(7)} - ${String(bin.to - 1).padEnd(7)}`;
  for (const bin of stats.histogram)
    lines.push(`  ${label(bin)} ${'#'.repeat(Math.round((40 * bin.count) / widest)).padEnd(40)} ${bin.count}`);
  if (dataset.issues.length) {
    lines.push('', `Warnings (${dataset.issues.length}):`);
    for (const issue of dataset.issues.slice(0, 10)) lines.push(`  ${formatIssue(issue)}`);
    if (dataset.issues.length > 10) lines.push(`  ... and ${dataset.issues.length - 10} more`);
  }
  for (const [i, example] of examples.entries()) {
    lines.push(
      '',
      `--- example ${i + 1}: record ${example.record + 1} (line ${example.line}), ${example.tokens} tokens, ${example.maskedTokens} masked${example.truncated ? ', truncated' : ''} ---`,
    );
    lines.push(example.maskedTokens ? `${MASK_OPEN}${example.masked}${MASK_CLOSE}${example.trained}` : example.trained);
  }
  return `${lines.join('\n')}\n`;
}

/** Sends one message to the parent and resolves once it is handed to the channel. */
function sendToParent(message: InspectMessage): Promise<void> {
  return new Promise((resolvePromise) => {
    if (!process.send || !process.connected) return resolvePromise();
    process.send(message, undefined, {}, () => resolvePromise());
  });
}

/** `--ipc`: whatever goes wrong reaches the parent as one inspect-error with the messages printed. */
async function inspectOverIpc(args: string[], out: CommandOutput): Promise<number> {
  const errors: string[] = [];
  const collecting: CommandOutput = {
    stdout: out.stdout,
    stderr: (s) => {
      errors.push(s);
      out.stderr(s);
    },
  };
  let code: number;
  try {
    code = await inspectDataCommand(
      args.filter((arg) => arg !== '--ipc'),
      collecting,
      async (config, configPath) => {
        const report = await inspectDataset(config, configPath, {
          onProgress: (phase, done, total) => void sendToParent({ type: 'inspect-progress', phase, done, total }),
        });
        await sendToParent({ type: 'inspect-report', report });
      },
    );
  } catch (error) {
    errors.push((error as Error).message);
    code = 1;
  }
  if (code !== 0) await sendToParent({ type: 'inspect-error', message: errors.join('').trim() || `inspect-data exited with ${code}` });
  if (process.connected) process.disconnect();
  return code;
}

/** The lenient inspection the dataset panel runs instead of the report (see --ipc). */
type Inspect = (config: LoraLabConfig, configPath: string) => Promise<void>;

export async function inspectDataCommand(args: string[], out: CommandOutput, inspect?: Inspect): Promise<number> {
  if (args.includes('--ipc') && !inspect) return inspectOverIpc(args, out);
  const parsedArgs = parseArgs(args);
  if (typeof parsedArgs === 'string') {
    out.stderr(`inspect-data: ${parsedArgs}\n${USAGE}\n`);
    return 2;
  }
  let text: string;
  try {
    text = nodeFileSystem.readFile(parsedArgs.configPath);
  } catch (error) {
    out.stderr(`inspect-data: cannot read ${parsedArgs.configPath}: ${(error as Error).message}\n`);
    return 1;
  }
  const configPath = resolve(parsedArgs.configPath);
  const parsed = parseConfig(text, configPath, nodeFileSystem, { hubCache: hubCacheDir() });
  const blocking = parsed.problems.filter((problem) => problem.severity === 'error' && !MODEL_ONLY.has(problem.code));
  if (blocking.length) {
    out.stderr(`${blocking.map((problem) => formatProblem(configPath, problem)).join('\n')}\n`);
    return 1;
  }
  for (const problem of parsed.problems)
    if (problem.severity !== 'hint') out.stderr(`${formatProblem(configPath, problem)} (does not affect the data)\n`);
  let config = parsed.config;
  let data: PreparedData;
  try {
    if (parsedArgs.variant !== null) config = selectVariant(config, parsedArgs.variant).config;
    config = applyOverrides(config, parsedArgs.sets).config;
    if (inspect) {
      await inspect(config, configPath);
      return 0;
    }
    data = prepareData(config);
  } catch (error) {
    // ConfigError (--set, --variant), DatasetError (malformed records: file:line each), tokenizer errors
    out.stderr(`inspect-data: ${(error as Error).message}\n`);
    return 1;
  }
  const stats = dataStats(data.examples);
  const examples = renderExamples(data);
  if (parsedArgs.json) {
    const report = {
      config: configPath,
      dataset: {
        file: data.dataset.file,
        format: data.dataset.format,
        records: data.dataset.records.length,
        train: data.train.length,
        validation: data.validation.length,
        warnings: data.dataset.issues,
      },
      tokenizer: {
        checkpoint: config.model.checkpoint,
        vocabSize: data.tokenizer.vocabSize,
        bos: data.tokenizer.addBos ? data.tokenizer.bosToken : null,
        eos: data.tokenizer.eosToken,
      },
      promptStyle: config.data.prompt_style,
      maskPrompt: config.data.mask_prompt,
      maxSeqLength: config.data.max_seq_length,
      cacheHit: data.cacheHit,
      stats,
      examples,
    };
    out.stdout(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    out.stdout(textReport(config, data, stats, examples));
  }
  return 0;
}
