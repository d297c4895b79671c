// parseConfig: YAML text -> resolved config + every problem with its position (0-based ranges,
// dotted key, stable code). Keeps going on broken YAML: syntax errors are problems too.
// Linear in the text (the YAML library's duplicate-key check is quadratic, so it is ours here),
// and stops at an optional deadline (DeadlineExceeded) so the editor never blocks on a huge file.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import { checkDeadline, type Deadline } from './deadline';
import { checkWorkspacePaths, type WorkspaceContext } from './workspace-paths';
import { KEY_SPECS, SECTIONS, childKeys, keySpec } from './schema';
import { checkEvalTasks } from '../eval/task-names';
import { closestMatch } from './suggest';
import { resolveConfig } from './resolve';
import { checkCrossKeys, checkFiles, type RuleProblem } from './rules';
import { resolveHubCheckpoint, type HubCheckpoint } from './hub-ref';
import { checkSweep, type SweepVariant } from './sweep';
import { checkValue, cutForMessage } from './values';
import { ZERO_RANGE, type FileSystem, type LoraLabConfig, type Position, type Problem, type Range, type SweepEntry } from './types';

export interface KeyLocation {
  keyRange: Range;
  /** The value's range (the key's range when the value is empty). */
  valueRange: Range;
}

export interface ParsedConfig {
  config: LoraLabConfig;
  /** In document order of discovery: syntax, keys and values, sweep, rules. */
  problems: Problem[];
  /** The checked values the file itself sets, by dotted key (paths as written). */
  setValues: Map<string, unknown>;
  /** Where each key is: 'lora.r', 'sweep.lora.alpha', 'sweep.lora.alpha[1]', sections as 'lora'. */
  locations: Map<string, KeyLocation>;
  /** The sweep's variants (one with index 0 and no overrides without a sweep). */
  variants: SweepVariant[];
}

type YamlNode = Node | null | undefined;

class Locator {
  constructor(private readonly lines: LineCounter) {}
  position(offset: number): { line: number; character: number } {
    const { line, col } = this.lines.linePos(offset);
    return { line: Math.max(0, line - 1), character: Math.max(0, col - 1) };
  }
  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(end) };
  }
  nodeRange(node: YamlNode, fallback: Range): Range {
    return node?.range ? this.range(node.range[0], node.range[1]) : fallback;
  }
}

/** Every second and later occurrence of a key in one mapping, as a syntax error at the key (in O(keys)). */
function duplicateKeys(doc: Document): { pos: [number, number]; message: string }[] {
  const found: { pos: [number, number]; message: string }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) {
          const start = pair.key.range?.[0] ?? 0;
          found.push({ pos: [start, start + 1], message: 'Map keys must be unique' });
        }
        seen.add(pair.key.value);
      }
    },
  });
  return found;
}

export interface ParseOptions {
  /** Past it, parsing throws DeadlineExceeded (the language server's time budget). */
  deadline?: Deadline;
  /** Enables the paths-outside-the-workspace checks. */
  workspace?: WorkspaceContext;
  /** The Hugging Face Hub cache folder: with `fs`, a repo id in model.checkpoint resolves to its snapshot there. */
  hubCache?: string;
}

/** Parses a *.lora.yaml text. `fs` enables the file checks (checkpoint, data, eval data). */
export function parseConfig(text: string, filePath: string, fs?: FileSystem, options: ParseOptions = {}): ParsedConfig {
  const { deadline } = options;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  checkDeadline(deadline);
  const at = new Locator(lineCounter);
  const problems: Problem[] = [];
  const setValues = new Map<string, unknown>();
  const locations = new Map<string, KeyLocation>();
  const sweep: SweepEntry[] = [];
  const itemRanges = new Map<string, { range: Range; quoted: boolean }>();

  const syntaxErrors = [...doc.errors.map((error) => ({ pos: error.pos, message: error.message })), ...duplicateKeys(doc)].sort(
    (a, b) => a.pos[0] - b.pos[0],
  );
  for (const error of syntaxErrors) {
    const message = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    problems.push({
      severity: 'error',
      code: 'yaml-syntax',
      key: '',
      message: `YAML syntax: ${message}`,
      range: at.range(error.pos[0], Math.max(error.pos[1], error.pos[0])),
    });
  }

  let keysRead = 0;
  const sectionKeys = new Map<string, string[]>();
  const unknownKey = (section: string, name: string, range: Range): void => {
    if (++keysRead % 256 === 0) checkDeadline(deadline);
    const dotted = section ? `${section}.${name}` : name;
    let candidates = sectionKeys.get(section);
    if (!candidates) sectionKeys.set(section, (candidates = childKeys(section)));
    const valid = section ? `Keys of ${section}: ${candidates.join(', ')}.` : `Top-level keys: ${candidates.join(', ')}.`;
    // a key written in the wrong section ('model: mask_prompt: true') or flat at the top ('lora.r: 8')
    const elsewhere = keySpec(name) ? name : KEY_SPECS.find((spec) => spec.key.endsWith(`.${name}`))?.key;
    const suggestion = elsewhere ? undefined : closestMatch(name, candidates);
    const hint = suggestion
      ? `: did you mean '${suggestion}'?`
      : elsewhere
        ? `: '${elsewhere}' is written as ${elsewhere.split('.')[0]}: then ${elsewhere.split('.').slice(1).join('.')}: indented under it.`
        : '.';
    problems.push({
      severity: 'error',
      code: 'unknown-key',
      key: dotted,
      range,
      message: `Unknown key '${cutForMessage(dotted)}'${hint} ${valid}`,
      data: suggestion
        ? { suggestion, suggestedKey: section ? `${section}.${suggestion}` : suggestion }
        : elsewhere
          ? { suggestedKey: elsewhere }
          : undefined,
    });
  };

  const toValue = (node: YamlNode, range: Range, key: string): { ok: boolean; value: unknown } => {
    if (!node) return { ok: true, value: null };
    try {
      return { ok: true, value: node.toJS(doc, { maxAliasCount: 100 }) };
    } catch (error) {
      problems.push({ severity: 'error', code: 'yaml-syntax', key, range, message: `YAML: ${(error as Error).message.split('\n')[0]}` });
      return { ok: false, value: null };
    }
  };

  const readValue = (dotted: string, pair: Pair<unknown, unknown>, keyRange: Range): void => {
    const spec = keySpec(dotted)!;
    const valueNode = pair.value as YamlNode;
    const valueRange = at.nodeRange(valueNode, keyRange);
    locations.set(dotted, { keyRange, valueRange });
    // each eval task has its own range, so a problem of one task sits on it
    if (dotted === 'eval.tasks' && isSeq(valueNode))
      (valueNode.items as YamlNode[]).forEach((item, i) =>
        locations.set(`eval.tasks[${i}]`, { keyRange, valueRange: at.nodeRange(item, keyRange) }),
      );
    const { ok, value } = toValue(valueNode, valueRange, dotted);
    if (!ok) return;
    const check = checkValue(spec, value);
    if (check.ok) setValues.set(dotted, check.value);
    else problems.push({ severity: 'error', code: check.code, key: dotted, range: valueRange, message: check.message, data: check.data });
  };

  const readSweep = (node: YamlNode, keyRange: Range): void => {
    if (node === null || node === undefined) return;
    if (!isMap(node)) {
      problems.push({
        severity: 'error',
        code: 'wrong-type',
        key: 'sweep',
        range: at.nodeRange(node, keyRange),
        message: "'sweep' expects a mapping of dotted keys to lists of values, e.g. lora.r: [8, 16].",
      });
      return;
    }
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const entryKeyRange = at.nodeRange(pair.key as YamlNode, keyRange);
      const valueNode = pair.value as YamlNode;
      locations.set(`sweep.${key}`, { keyRange: entryKeyRange, valueRange: at.nodeRange(valueNode, entryKeyRange) });
      const items: YamlNode[] = isSeq(valueNode) ? (valueNode.items as YamlNode[]) : [valueNode];
      items.forEach((item, index) => {
        const itemRange = at.nodeRange(item, entryKeyRange);
        locations.set(`sweep.${key}[${index}]`, { keyRange: entryKeyRange, valueRange: itemRange });
        itemRanges.set(`${key}#${index}`, {
          range: itemRange,
          quoted: isScalar(item) && (item.type === 'QUOTE_DOUBLE' || item.type === 'QUOTE_SINGLE'),
        });
      });
      sweep.push({ key, values: items.map((item) => toValue(item, at.nodeRange(item, entryKeyRange), `sweep.${key}`).value) });
    }
  };

  const root = doc.contents as YamlNode;
  if (root && !isMap(root)) {
    problems.push({
      severity: 'error',
      code: 'wrong-type',
      key: '',
      range: at.nodeRange(root, ZERO_RANGE),
      message: 'A .lora.yaml file is a mapping of keys (model:, lora:, data:, train: ...); this document is not.',
    });
  } else if (root) {
    for (const pair of root.items) {
      if (!isScalar(pair.key)) {
        problems.push({
          severity: 'error',
          code: 'unknown-key',
          key: '',
          range: at.nodeRange(pair.key as YamlNode, ZERO_RANGE),
          message: 'Keys are plain names (model, lora, data, train, eval, device, out_dir, name, sweep); this key is a collection.',
        });
        continue;
      }
      const name = String(pair.key.value);
      const keyRange = at.nodeRange(pair.key, ZERO_RANGE);
      if (name === 'sweep') {
        locations.set('sweep', { keyRange, valueRange: at.nodeRange(pair.value as YamlNode, keyRange) });
        readSweep(pair.value as YamlNode, keyRange);
      } else if ((SECTIONS as readonly string[]).includes(name)) {
        const section = pair.value as YamlNode;
        locations.set(name, { keyRange, valueRange: at.nodeRange(section, keyRange) });
        if (section === null || section === undefined || (isScalar(section) && section.value === null)) continue;
        if (!isMap(section)) {
          problems.push({
            severity: 'error',
            code: 'wrong-type',
            key: name,
            range: at.nodeRange(section, keyRange),
            message: `'${name}' expects a mapping of keys (${childKeys(name).join(', ')}).`,
          });
          continue;
        }
        for (const child of section.items) {
          if (!isScalar(child.key)) {
            problems.push({
              severity: 'error',
              code: 'unknown-key',
              key: name,
              range: at.nodeRange(child.key as YamlNode, keyRange),
              message: `Keys of ${name} are plain names (${childKeys(name).join(', ')}); this key is a collection.`,
            });
            continue;
          }
          const childName = String(child.key.value);
          const childRange = at.nodeRange(child.key, keyRange);
          if (keySpec(`${name}.${childName}`)) readValue(`${name}.${childName}`, child, childRange);
          else unknownKey(name, childName, childRange);
        }
      } else if (keySpec(name) && !name.includes('.')) {
        readValue(name, pair, keyRange);
      } else {
        unknownKey('', name, keyRange);
      }
    }
  }

  checkDeadline(deadline);
  const config = resolveConfig(setValues, filePath, sweep);
  const { variants, issues } = checkSweep(config, deadline);
  for (const issue of issues) {
    const item = issue.valueIndex === undefined ? undefined : itemRanges.get(`${issue.key}#${issue.valueIndex}`);
    let range = item?.range ?? locations.get(`sweep.${issue.key}`)?.keyRange ?? ZERO_RANGE;
    if (item && issue.column !== undefined && item.range.start.line === item.range.end.line) {
      const character = item.range.start.character + (item.quoted ? 1 : 0) + 1 + issue.column;
      range = { start: { line: item.range.start.line, character }, end: { line: item.range.start.line, character: character + 1 } };
    }
    problems.push({ severity: 'error', code: issue.code, key: `sweep.${issue.key}`, range, message: issue.message, data: issue.data });
  }

  const rangeOf = (key: string): Range => {
    const location = locations.get(key);
    if (location)
      return key.includes('.') || !['lora', 'model', 'data', 'train', 'eval'].includes(key) ? location.valueRange : location.keyRange;
    const section = key.split('.')[0];
    return locations.get(section)?.keyRange ?? ZERO_RANGE;
  };
  const place = (rule: RuleProblem): Problem => ({ ...rule, range: rangeOf(rule.key) });
  const sweptKeys = new Set(sweep.map((entry) => entry.key));
  problems.push(...checkCrossKeys(config, sweptKeys).map(place));
  problems.push(...checkEvalTasks(config, fs).map(place));
  const baseMessages = new Set(problems.map((problem) => problem.message));
  if (sweep.length) {
    const reported = new Set<string>();
    for (const variant of variants) {
      checkDeadline(deadline);
      for (const rule of checkCrossKeys(variant.config, sweptKeys)) {
        if (rule.severity !== 'error' || baseMessages.has(rule.message) || reported.has(rule.message)) continue;
        reported.add(rule.message);
        problems.push({
          ...rule,
          key: 'sweep',
          range: locations.get('sweep')?.keyRange ?? ZERO_RANGE,
          message: `sweep variant ${variant.index} (${JSON.stringify(variant.overrides)}): ${rule.message}`,
        });
      }
    }
  }
  if ((sweptKeys.has('lora.r') || sweptKeys.has('lora.alpha')) && config.train.method === 'lora') {
    const off = variants.filter((variant) => variant.config.lora.alpha !== 2 * variant.config.lora.r).map((variant) => variant.index);
    const key = sweptKeys.has('lora.alpha') ? 'lora.alpha' : 'lora.r';
    if (off.length) {
      problems.push({
        severity: 'hint',
        code: 'alpha-not-2r',
        key: `sweep.${key}`,
        range: locations.get(`sweep.${key}`)?.keyRange ?? ZERO_RANGE,
        message: `lora.alpha is not 2 * lora.r in sweep variant(s) ${off.slice(0, 10).join(', ')}${off.length > 10 ? ', ...' : ''}: the article found alpha = 2r best (an expression "=2*lora.r" keeps it so).`,
        data: { variants: off },
      });
    }
  }
  checkDeadline(deadline);
  const hub = fs ? resolveHubCheckpoints(config, variants, setValues, fs, options.hubCache) : null;
  if (options.workspace) {
    const placeSwept = (rule: RuleProblem): Problem =>
      setValues.has(rule.key) || !locations.has(`sweep.${rule.key}`)
        ? place(rule)
        : { ...rule, range: locations.get(`sweep.${rule.key}`)!.valueRange };
    problems.push(
      ...checkWorkspacePaths(variants.length ? variants.map((variant) => variant.config) : [config], options.workspace).map(placeSwept),
    );
  }
  if (fs) {
    const ranks = variants.length ? variants.map((variant) => variant.config.lora.r) : [config.lora.r];
    problems.push(...checkFiles(config, fs, ranks, hub).map(place));
  }
  return { config, problems, setValues, locations, variants };
}

function contains(range: Range, position: Position): boolean {
  const after = position.line > range.start.line || (position.line === range.start.line && position.character >= range.start.character);
  const before = position.line < range.end.line || (position.line === range.end.line && position.character <= range.end.character);
  return after && before;
}

/**
 * The dotted key at a position (for hover and completion): the innermost key whose key or value
 * range contains it ('lora.alpha', 'sweep.lora.r', 'lora'), with which part was hit; null elsewhere.
 */
export function keyAt(parsed: Pick<ParsedConfig, 'locations'>, position: Position): { key: string; part: 'key' | 'value' } | null {
  let best: { key: string; part: 'key' | 'value' } | null = null;
  for (const [key, location] of parsed.locations) {
    if (key.endsWith(']')) continue;
    const part = contains(location.keyRange, position) ? 'key' : contains(location.valueRange, position) ? 'value' : null;
    if (part && (!best || key.length > best.key.length)) best = { key, part };
  }
  return best;
}

/** 'file:line:col: severity: message [code]' with 1-based line and column, for the CLI. */
export function formatProblem(filePath: string, problem: Problem): string {
  return `${filePath}:${problem.range.start.line + 1}:${problem.range.start.character + 1}: ${problem.severity}: ${problem.message} [${problem.code}]`;
}

/**
 * Points model.checkpoint of the config and of every sweep variant at its Hub cache snapshot when
 * the value is a repo id (or a cache repo folder); returns the base config's cache state (null: a folder).
 */
function resolveHubCheckpoints(
  config: LoraLabConfig,
  variants: SweepVariant[],
  setValues: ReadonlyMap<string, unknown>,
  fs: FileSystem,
  cacheDir: string | undefined,
): HubCheckpoint | null {
  const apply = (target: LoraLabConfig, written: unknown): HubCheckpoint | null => {
    if (typeof written !== 'string') return null;
    const hub = resolveHubCheckpoint(written, target.model.checkpoint, fs, cacheDir);
    if (hub?.snapshot) target.model.checkpoint = hub.snapshot;
    return hub;
  };
  const written = setValues.get('model.checkpoint');
  const base = apply(config, written);
  for (const variant of variants) {
    if (variant.config !== config) apply(variant.config, variant.overrides['model.checkpoint'] ?? written);
  }
  return base;
}
