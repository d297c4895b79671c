// Quick fixes keyed on the config modules' problem codes: alpha = 2r, misspelt keys and enum values,
// batch divisibility, the values some rules name, a key without a value, a missing required key; and
// for a Hub model not (fully) in the cache, the host's download command ("Fetch config.json", "Download model").
import { CodeActionKind, type CodeAction, type Command, type TextEdit } from 'vscode-languageserver-types';
import { closestMatch, hubRefText, keySpec, type Problem, type Range } from '../config';
import type { ConfigAnalysis } from './analysis';
import { toDiagnostic } from './diagnostics';
import { insertKeyEdit, setValueEdit, textIn } from './edits';
import { DOWNLOAD_MODEL_COMMAND, type DownloadModelRequest } from './hub-commands';
import { snippetValue } from './snippets';

/** Keys a run cannot do without whose schema defaults are only the article's example paths. */
export const REQUIRED_KEYS = ['model.checkpoint', 'data.path'] as const;

function overlaps(a: Range, b: Range): boolean {
  const before = (x: Range['start'], y: Range['start']) => x.line < y.line || (x.line === y.line && x.character <= y.character);
  return before(a.start, b.end) && before(b.start, a.end);
}

interface Fix {
  title: string;
  edit?: TextEdit;
  /** A host command instead of an edit (the Hub downloads). */
  command?: Command;
}

function downloadFix(title: string, request: DownloadModelRequest): Fix {
  return { title, command: { title, command: DOWNLOAD_MODEL_COMMAND, arguments: [request] } };
}

function yamlScalar(value: unknown): string {
  return snippetValue(value).replace(/\\(.)/g, '$1');
}

function fixesFor(analysis: ConfigAnalysis, problem: Problem): Fix[] {
  const { config, setValues, locations } = analysis.parsed;
  const data = problem.data ?? {};
  const set = (key: string, value: unknown, title: string): Fix => ({ title, edit: setValueEdit(analysis, key, yamlScalar(value)) });
  switch (problem.code) {
    case 'alpha-not-2r':
      return [
        set(
          'lora.alpha',
          data.replacement ?? 2 * config.lora.r,
          `Set lora.alpha to ${String(data.replacement ?? 2 * config.lora.r)} (2 × r, the article's best)`,
        ),
      ];
    case 'unknown-key':
    case 'sweep-unknown-key': {
      const suggestion = typeof data.suggestion === 'string' ? data.suggestion : undefined;
      if (!suggestion) return [];
      const suggestedKey = problem.code === 'sweep-unknown-key' ? `sweep.${suggestion}` : String(data.suggestedKey ?? suggestion);
      if (locations.has(suggestedKey)) return [];
      return [{ title: `Change to '${suggestion}'`, edit: { range: problem.range, newText: suggestion } }];
    }
    case 'unknown-enum-value': {
      const choices = Array.isArray(data.choices) ? (data.choices as string[]) : [];
      const written = textIn(analysis, problem.range);
      if (Array.isArray(data.unknown)) {
        let fixed = written;
        for (const item of data.unknown as string[]) {
          const match = closestMatch(item, choices);
          if (match)
            fixed = fixed.replace(
              new RegExp(`(^|[\\s,\\[\\-"'])${item.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[\\s,\\]"'])`),
              `$1${match}`,
            );
        }
        return fixed !== written ? [{ title: 'Correct the misspelt eval tasks', edit: { range: problem.range, newText: fixed } }] : [];
      }
      const match = closestMatch(written.replace(/^["']|["']$/g, ''), choices);
      const candidates = match ? [match] : choices.slice(0, 6);
      return candidates.map((choice) => ({ title: `Change to '${choice}'`, edit: { range: problem.range, newText: choice } }));
    }
    case 'batch-size-multiple': {
      const { global_batch_size: global, micro_batch_size: micro } = config.train;
      const lower = Math.floor(global / micro) * micro;
      const fixes: Fix[] = [];
      if (lower > 0) fixes.push(set('train.global_batch_size', lower, `Set train.global_batch_size to ${lower} (a multiple of ${micro})`));
      fixes.push(set('train.global_batch_size', lower + micro, `Set train.global_batch_size to ${lower + micro} (a multiple of ${micro})`));
      let divisor = Math.min(micro, global);
      while (divisor > 1 && global % divisor !== 0) divisor--;
      fixes.push(set('train.micro_batch_size', divisor, `Set train.micro_batch_size to ${divisor} (divides ${global})`));
      return fixes;
    }
    case 'quantize-with-full':
      return [set('model.quantize', 'none', 'Set model.quantize to none'), set('train.method', 'lora', 'Set train.method to lora (QLoRA)')];
    case 'state-precision-with-full':
      return [
        set('train.state_precision', 'fp32', 'Set train.state_precision to fp32'),
        set('train.method', 'lora', 'Set train.method to lora'),
      ];
    case 'optimizer-state-on-cuda':
      return [set('device', 'cpu', 'Set device to cpu (the CPU engine implements it)')];
    case 'fp16-on-cpu':
    case 'precision-on-cuda':
      return [set('model.precision', data.replacement ?? 'bf16-true', `Set model.precision to ${String(data.replacement ?? 'bf16-true')}`)];
    case 'learning-rate-too-high':
      return typeof data.replacement === 'number' && !locations.has('sweep.train.learning_rate')
        ? [set('train.learning_rate', data.replacement, `Set train.learning_rate to ${data.replacement}`)]
        : [];
    case 'rank-exceeds-dimension':
      return typeof data.max === 'number' && !locations.has('sweep.lora.r')
        ? [set('lora.r', data.max, `Set lora.r to ${data.max} (the largest the model allows)`)]
        : [];
    case 'checkpoint-not-downloaded':
    case 'checkpoint-weights-missing': {
      if (typeof data.repo !== 'string' || typeof data.revision !== 'string') return [];
      const ref = { repo: data.repo, revision: data.revision };
      const id = hubRefText(ref);
      const download = downloadFix(`Download model ${id}`, ref);
      return problem.code === 'checkpoint-not-downloaded'
        ? [
            downloadFix(`Fetch config.json of ${id} (for the estimate; trusted workspaces only)`, { ...ref, include: ['config.json'] }),
            download,
          ]
        : [download];
    }
    case 'checkpoint-missing':
    case 'data-path-missing': {
      const key = problem.code === 'checkpoint-missing' ? 'model.checkpoint' : 'data.path';
      if (setValues.has(key) || locations.has(key)) return [];
      const spec = keySpec(key)!;
      return [
        {
          title: `Add the required key ${key} (then point it at your ${key === 'data.path' ? 'dataset file' : 'checkpoint folder'})`,
          edit: insertKeyEdit(analysis, key, yamlScalar(spec.default)),
        },
      ];
    }
    case 'wrong-type':
    case 'out-of-range': {
      const spec = keySpec(problem.key);
      const location = locations.get(problem.key);
      if (!spec || !location || spec.default === null) return [];
      return [set(problem.key, spec.default, `Set ${problem.key} to its default ${yamlScalar(spec.default)}`)];
    }
    default:
      return [];
  }
}

/** Quick fixes for the problems that overlap `range` in the document at `uri`. */
export function codeActions(analysis: ConfigAnalysis, uri: string, range: Range): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const problem of analysis.parsed.problems) {
    if (!overlaps(problem.range, range)) continue;
    fixesFor(analysis, problem).forEach((fix, index) => {
      const action: CodeAction = {
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [toDiagnostic(problem)],
        isPreferred: index === 0,
      };
      if (fix.edit) action.edit = { changes: { [uri]: [fix.edit] } };
      if (fix.command) action.command = fix.command;
      actions.push(action);
    });
  }
  return actions;
}
