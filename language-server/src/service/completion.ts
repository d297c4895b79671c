// Completion for *.lora.yaml: keys of the section the cursor is in (those not set yet), enum,
// boolean and null values, eval tasks, sweep keys and expressions, and snippets for a new file.
import { CompletionItemKind, InsertTextFormat, MarkupKind, type CompletionItem } from 'vscode-languageserver-types';
import {
  KEY_SPECS,
  SECTIONS,
  childKeys,
  describeRange,
  expected,
  hoverText,
  keySpec,
  type KeySpec,
  type Position,
  type Range,
} from '../config';
import type { ConfigAnalysis } from './analysis';
import { availableTasks, taskSummary } from '../eval/task-names';
import { cursorContext } from './cursor';
import { pathCompletions } from './path-completion';
import { SECTION_DOCS, newConfigSnippet, snippetValue, sweepSnippet, valuePlaceholder } from './snippets';

const markdown = (value: string) => ({ kind: MarkupKind.Markdown, value });

/** Keys the file already sets in `section` (excluding the cursor's own line). */
function presentKeys(analysis: ConfigAnalysis, section: string, cursorLine: number): Set<string> {
  const present = new Set<string>();
  const prefix = section ? `${section}.` : '';
  for (const [key, location] of analysis.parsed.locations) {
    if (!key.startsWith(prefix) || key.includes('[') || location.keyRange.start.line === cursorLine) continue;
    const rest = key.slice(prefix.length);
    if (section === 'sweep' || !rest.includes('.')) present.add(rest);
  }
  return present;
}

function keyItem(spec: KeySpec, label: string, range: Range, sortIndex: number): CompletionItem {
  return {
    label,
    kind: CompletionItemKind.Property,
    detail: `${expected(spec)} · default ${JSON.stringify(spec.default)}`,
    documentation: markdown(hoverText(spec)),
    textEdit: { range, newText: `${label}: ${valuePlaceholder(spec, 1)}` },
    insertTextFormat: InsertTextFormat.Snippet,
    sortText: String(sortIndex).padStart(3, '0'),
  };
}

function keyCompletions(analysis: ConfigAnalysis, section: string, range: Range, line: number): CompletionItem[] {
  const present = presentKeys(analysis, section, line);
  if (section === '') {
    const items: CompletionItem[] = [];
    childKeys('').forEach((name, index) => {
      if (present.has(name)) return;
      const spec = keySpec(name);
      if (spec) items.push(keyItem(spec, name, range, index));
      else if (name === 'sweep')
        items.push({
          label: 'sweep',
          kind: CompletionItemKind.Module,
          detail: 'a grid of runs',
          documentation: markdown(SECTION_DOCS.sweep),
          textEdit: { range, newText: sweepSnippet() },
          insertTextFormat: InsertTextFormat.Snippet,
          sortText: String(index).padStart(3, '0'),
        });
      else
        items.push({
          label: name,
          kind: CompletionItemKind.Module,
          detail: `section: ${childKeys(name).join(', ')}`,
          documentation: markdown(SECTION_DOCS[name] ?? ''),
          textEdit: { range, newText: `${name}:\n  $0` },
          insertTextFormat: InsertTextFormat.Snippet,
          sortText: String(index).padStart(3, '0'),
        });
    });
    const setsAnything = [...analysis.parsed.locations.values()].some((location) => location.keyRange.start.line !== line);
    if (!setsAnything) {
      items.push({
        label: 'lora-lab config',
        kind: CompletionItemKind.Snippet,
        detail: "a new config with the article's defaults",
        documentation: markdown("Every section with the reference article's defaults; tab through the values that matter most."),
        textEdit: { range, newText: newConfigSnippet() },
        insertTextFormat: InsertTextFormat.Snippet,
        sortText: '000',
      });
    }
    if (!present.has('sweep')) {
      items.push({
        label: 'sweep over lora.r',
        kind: CompletionItemKind.Snippet,
        detail: 'sweep: rank with alpha = 2r',
        documentation: markdown(SECTION_DOCS.sweep),
        textEdit: { range, newText: sweepSnippet() },
        insertTextFormat: InsertTextFormat.Snippet,
        sortText: '999',
      });
    }
    return items;
  }
  if (section === 'sweep') {
    return KEY_SPECS.filter((spec) => spec.sweepable && !present.has(spec.key)).map((spec, index) => ({
      ...keyItem(spec, spec.key, range, index),
      detail: `sweep values: ${expected(spec)}`,
      textEdit: { range, newText: `${spec.key}: [\${1:${sweepExample(spec)}}]` },
    }));
  }
  if (!(SECTIONS as readonly string[]).includes(section)) return [];
  return childKeys(section)
    .filter((name) => !present.has(name))
    .map((name, index) => keyItem(keySpec(`${section}.${name}`)!, name, range, index));
}

function sweepExample(spec: KeySpec): string {
  if (spec.type === 'boolean') return 'false, true';
  if (spec.type === 'enum' && spec.choices) return spec.choices.slice(0, 2).join(', ');
  if (spec.key === 'lora.r') return '8, 16, 32';
  return snippetValue(spec.default);
}

function valueItem(label: string, range: Range, detail: string, documentation?: string, quote = false): CompletionItem {
  return {
    label,
    kind: CompletionItemKind.Value,
    detail,
    documentation: documentation ? markdown(documentation) : undefined,
    textEdit: { range, newText: quote ? `"${label}"` : label },
  };
}

function valueCompletions(key: string, inList: boolean, listItems: string[], range: Range): CompletionItem[] {
  const sweep = key.startsWith('sweep.');
  const spec = keySpec(sweep ? key.slice('sweep.'.length) : key);
  if (!spec) return [];
  const items: CompletionItem[] = [];
  const describe = describeRange(spec);
  if (spec.type === 'enum' && spec.choices) {
    for (const choice of spec.choices)
      items.push(valueItem(choice, range, `${spec.key}${choice === spec.default ? ' (default)' : ''}`, spec.choiceDocs?.[choice]));
    if (spec.key === 'device') items.push(valueItem('cuda:0', range, 'device', 'A CUDA device by index (cuda:N).'));
  } else if (spec.type === 'boolean') {
    for (const choice of ['true', 'false'])
      items.push(valueItem(choice, range, `${spec.key}${String(spec.default) === choice ? ' (default)' : ''}`));
  } else if (spec.type === 'string-list' && spec.choices && inList) {
    for (const choice of spec.choices) if (!listItems.includes(choice)) items.push(valueItem(choice, range, spec.key, spec.doc));
  } else if ((spec.type === 'integer' || spec.type === 'number') && !(sweep && inList)) {
    items.push(valueItem(String(spec.default ?? 'null'), range, `${spec.key} default${describe ? `; ${describe}` : ''}`, spec.doc));
  }
  if (spec.nullable && spec.default !== null) items.push(valueItem('null', range, `${spec.key}: off / no limit`));
  if (sweep && inList && (spec.type === 'integer' || spec.type === 'number')) {
    const example = spec.key === 'lora.alpha' ? '=2*lora.r' : `=${String(spec.default ?? 1)}`;
    items.push({
      ...valueItem(
        example,
        range,
        'sweep expression over config keys',
        'A string starting with = is evaluated per variant: numbers, + - * / **, parentheses and dotted keys.',
        true,
      ),
      kind: CompletionItemKind.Snippet,
    });
  }
  return items;
}

/** Completion items at `position`. */
export function completions(analysis: ConfigAnalysis, position: Position): CompletionItem[] {
  const context = cursorContext(analysis.lines, position);
  if (context.kind === 'key') {
    const items = keyCompletions(analysis, context.section, context.range, position.line);
    if (!/^\s*:/.test(analysis.lines[position.line]?.slice(context.range.end.character) ?? '')) return items;
    // The key already has its colon (and maybe a value): replace the name only.
    return items
      .filter((item) => item.kind !== CompletionItemKind.Snippet)
      .map((item) => ({
        ...item,
        textEdit: { range: context.range, newText: String(item.label) },
        insertTextFormat: InsertTextFormat.PlainText,
      }));
  }
  if (context.kind === 'value') {
    const spec = keySpec(context.key);
    const items =
      spec?.type === 'path' && !context.inList
        ? pathCompletions(analysis, context.key, context.partial, context.range)
        : context.key === 'eval.tasks' && context.inList
          ? taskCompletions(analysis, context.listItems, context.range)
          : valueCompletions(context.key, context.inList, context.listItems, context.range);
    // Right after 'key:' (a trigger character) the value needs its separating space.
    if (analysis.lines[position.line]?.[context.range.start.character - 1] !== ':') return items;
    return items.map((item) =>
      item.textEdit && 'range' in item.textEdit ? { ...item, textEdit: { ...item.textEdit, newText: ` ${item.textEdit.newText}` } } : item,
    );
  }
  return [];
}

/** eval.tasks items: the built-in tasks and the config's custom task files, each with its kind, metric, request count and description. */
function taskCompletions(analysis: ConfigAnalysis, listItems: string[], range: Range): CompletionItem[] {
  const { tasks } = availableTasks(analysis.parsed.config, analysis.fs);
  return tasks
    .filter((t) => !listItems.includes(t.name))
    .map((t) => ({
      ...valueItem(
        t.name,
        range,
        `${t.builtin ? 'built-in' : 'custom'}: ${taskSummary(t)}`,
        [t.spec.description ?? '', t.file ? `Defined in ${t.file}.` : ''].filter(Boolean).join('\n\n'),
      ),
      sortText: `${t.builtin ? 0 : 1}${t.name}`,
    }));
}
