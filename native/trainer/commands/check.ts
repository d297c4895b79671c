// `lora-lab check FILE... [--json]`: the language server's diagnostics in a terminal, one
// `file:line:col severity message` line per problem (1-based), exit 1 when any file has an error.
// Beyond the editor it tokenizes the data where it can (mask_prompt responses lost to truncation).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hubCacheDir, modelCacheFolders, nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { analyzeConfig } from '../../../language-server/src/service';
import { ZERO_RANGE, type Problem, type Severity } from '../../../language-server/src/config';
import type { ConfigAnalysis } from '../../../language-server/src/service';
import { surveyMaskedResponses } from '../data/checks';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export interface CheckedProblem {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: string;
  key: string;
  message: string;
}

export interface CheckedFile {
  file: string;
  problems: CheckedProblem[];
}

const CONFIG_FILE = /\.lora\.ya?ml$/i;
const SKIPPED_FOLDERS = new Set(['node_modules', '.git', 'out', 'dist']);

/** The config files an argument names: the file itself, or every *.lora.yaml under a folder. */
function configFiles(argument: string): string[] {
  let isFolder = false;
  try {
    isFolder = statSync(argument).isDirectory();
  } catch {
    return [argument];
  }
  if (!isFolder) return [argument];
  const found: string[] = [];
  for (const entry of readdirSync(argument, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(argument, entry.name);
    if (entry.isDirectory() && !SKIPPED_FOLDERS.has(entry.name)) found.push(...configFiles(path).filter((file) => CONFIG_FILE.test(file)));
    else if (entry.isFile() && CONFIG_FILE.test(entry.name)) found.push(path);
  }
  return found;
}

function toChecked(problem: Problem): CheckedProblem {
  const { start, end } = problem.range;
  return {
    line: start.line + 1,
    column: start.character + 1,
    endLine: end.line + 1,
    endColumn: end.character + 1,
    severity: problem.severity,
    code: problem.code,
    key: problem.key,
    message: problem.message,
  };
}

/** Checks one file with the file checks on; an unreadable file is one error. Paths outside `workspace` (default: the working directory) are warnings. */
export function checkFile(file: string, workspace: string = process.cwd()): CheckedFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return {
      file,
      problems: [
        {
          line: 1,
          column: 1,
          endLine: 1,
          endColumn: 1,
          severity: 'error',
          code: 'unreadable',
          key: '',
          message: `cannot read the config file (${reason})`,
        },
      ],
    };
  }
  const analysis = analyzeConfig(text, resolve(file), nodeFileSystem, {
    workspace: { folders: [resolve(workspace)], cacheFolders: modelCacheFolders() },
    hubCache: hubCacheDir(),
  });
  return { file, problems: [...analysis.parsed.problems, ...maskedResponseProblems(analysis)].map(toChecked) };
}

/** Distinct data setups the survey looks at, at most this many per file (sweeps). */
const MAX_SURVEYED_SETUPS = 8;

/** A warning per data setup where mask_prompt leaves records without a response token (files without errors only). */
function maskedResponseProblems(analysis: ConfigAnalysis): Problem[] {
  const { parsed } = analysis;
  if (parsed.problems.some((problem) => problem.severity === 'error')) return [];
  const range =
    parsed.locations.get('data.mask_prompt')?.valueRange ??
    parsed.locations.get('sweep.data.mask_prompt')?.keyRange ??
    parsed.locations.get('data')?.keyRange ??
    ZERO_RANGE;
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const variant of parsed.variants) {
    const { data, model } = variant.config;
    const setup = JSON.stringify([data.path, data.format, data.prompt_style, data.mask_prompt, data.max_seq_length, model.checkpoint]);
    if (!data.mask_prompt || seen.has(setup) || seen.size >= MAX_SURVEYED_SETUPS) continue;
    seen.add(setup);
    const survey = surveyMaskedResponses(variant.config);
    if (!survey || survey.empty.length === 0) continue;
    const of =
      survey.checked === survey.records
        ? `${survey.empty.length} of ${survey.records} records`
        : `${survey.empty.length} of the first ${survey.checked} records`;
    const named = survey.empty
      .slice(0, 3)
      .map((index) => `record ${index + 1}`)
      .join(', ');
    problems.push({
      severity: 'warning',
      code: 'mask-prompt-empty-responses',
      key: 'data.mask_prompt',
      range,
      message: `${parsed.variants.length > 1 ? `sweep variant ${variant.index}: ` : ''}data.mask_prompt is true and data.max_seq_length ${data.max_seq_length} leaves no response token in ${of} (${named}${survey.empty.length > 3 ? ', ...' : ''}): they train nothing, and a step of only such records fails (E_BATCH). Raise data.max_seq_length or shorten those prompts.`,
      data: { records: survey.empty.slice(0, 100) },
    });
  }
  return problems;
}

/** `file:line:col severity message`, one line per problem. */
export function formatChecked(checked: CheckedFile): string {
  return checked.problems
    .map((problem) => `${checked.file}:${problem.line}:${problem.column} ${problem.severity} ${problem.message}\n`)
    .join('');
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export const checkCommand: CliCommand = {
  name: 'check',
  summary: 'Check *.lora.yaml files (or the configs under a folder) and print their problems',
  usage: 'lora-lab check FILE|FOLDER... [--json]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    const json = args.includes('--json');
    const unknown = args.filter((arg) => arg.startsWith('-') && arg !== '--json');
    const targets = args.filter((arg) => !arg.startsWith('-'));
    if (unknown.length || targets.length === 0) {
      out.stderr(
        `${unknown.length ? `lora-lab check: unknown option ${unknown.join(', ')}\n` : 'lora-lab check: name at least one config file or folder.\n'}Usage: ${this.usage}\n`,
      );
      return EXIT_USAGE;
    }
    const files = targets.flatMap(configFiles);
    if (files.length === 0) {
      out.stderr(`lora-lab check: no *.lora.yaml or *.lora.yml files in ${targets.join(', ')}.\n`);
      return EXIT_FAILURE;
    }
    const checked = files.map((file) => checkFile(file));
    const count = (severity: Severity) =>
      checked.reduce((sum, file) => sum + file.problems.filter((problem) => problem.severity === severity).length, 0);
    const totals = { errors: count('error'), warnings: count('warning'), information: count('information'), hints: count('hint') };
    if (json) {
      out.stdout(`${JSON.stringify({ files: checked, ...totals }, null, 2)}\n`);
    } else {
      for (const file of checked) out.stdout(formatChecked(file));
      out.stderr(
        `lora-lab check: ${plural(checked.length, 'file')}, ${plural(totals.errors, 'error')}, ${plural(totals.warnings, 'warning')}, ${plural(totals.hints, 'hint')}${totals.information ? `, ${totals.information} information` : ''}.\n`,
      );
    }
    return totals.errors > 0 ? EXIT_FAILURE : EXIT_OK;
  },
};
