// The pure language service without a connection: cursor contexts, completion, hover, quick fixes
// (each applied and re-checked), code lens states, the cached file system and the never-throw parse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CodeAction, Position } from 'vscode-languageserver-types';
import { KEY_SPECS, describeRange, type FileSystem } from '../../../language-server/src/config';
import { twoHundredLineConfig } from '../../../language-server/bench/latency';
import { memoryFileSystem } from '../config/memory-fs';
import {
  CachedFileSystem,
  analyzeConfig,
  codeActions,
  codeLenses,
  completions,
  cursorContext,
  hover,
} from '../../../language-server/src/service';
import { applyEdits } from './lsp-harness';
import { workspace } from './memory-workspace';

const BASE = 'model:\n  checkpoint: ckpt\n';

/** Text with a '|' marking the cursor -> [text, position]. */
function at(marked: string): [string, Position] {
  const offset = marked.indexOf('|');
  const before = marked.slice(0, offset).split('\n');
  return [marked.replace('|', ''), { line: before.length - 1, character: before[before.length - 1].length }];
}

function analyse(text: string, fs: FileSystem | undefined = workspace()) {
  return analyzeConfig(text, '/ws/run.lora.yaml', fs);
}

function fixed(text: string, action: CodeAction): string {
  return applyEdits(text, action.edit?.changes?.['file:///ws/run.lora.yaml'] ?? []);
}

function actionsFor(text: string, code: string, fs?: FileSystem): CodeAction[] {
  const analysis = analyse(text, fs);
  const problem = analysis.parsed.problems.find((entry) => entry.code === code);
  assert.ok(problem, `expected a ${code} problem in ${JSON.stringify(analysis.parsed.problems.map((entry) => entry.code))}`);
  return codeActions(analysis, 'file:///ws/run.lora.yaml', problem.range).filter((action) => action.diagnostics?.[0]?.code === code);
}

test('cursor context: keys by section, values, list items, comments, inline parents', () => {
  const context = (marked: string) => {
    const [text, position] = at(marked);
    return cursorContext(text.split('\n'), position);
  };
  assert.deepEqual(context('lora:\n  al|'), {
    kind: 'key',
    section: 'lora',
    partial: 'al',
    range: { start: { line: 1, character: 2 }, end: { line: 1, character: 4 } },
  });
  assert.deepEqual(context('|'), {
    kind: 'key',
    section: '',
    partial: '',
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
  });
  assert.equal((context('train:\n  # comment\n\n  |') as { section: string }).section, 'train');
  assert.deepEqual(context('model:\n  precision: bf|'), {
    kind: 'value',
    key: 'model.precision',
    partial: 'bf',
    range: { start: { line: 1, character: 13 }, end: { line: 1, character: 15 } },
    inList: false,
    listItems: [],
  });
  const block = context('eval:\n  tasks:\n  - truthfulqa_mc1\n  - |\n  - mmlu_global_facts');
  assert.deepEqual(block.kind === 'value' && [block.key, block.inList, block.listItems], [
    'eval.tasks',
    true,
    ['truthfulqa_mc1', 'mmlu_global_facts'],
  ]);
  const flow = context('sweep:\n  lora.r: [8, |, 32]');
  assert.deepEqual(flow.kind === 'value' && [flow.key, flow.partial, flow.listItems], ['sweep.lora.r', '', ['8', '32']]);
  assert.equal(context('lora:\n  r: 8 # the ra|').kind, 'none');
  assert.equal(context('lora: 5\n  |').kind, 'none');
});

test('completion: sweep keys and expressions, device, nullable values, snippets only for an empty file', () => {
  const [sweepText, sweepKey] = at(`${BASE}sweep:\n  lora.r: [8, 16]\n  |`);
  const sweepKeys = completions(analyse(sweepText), sweepKey);
  assert.ok(!sweepKeys.some((item) => item.label === 'lora.r'), 'a key already swept is not offered again');
  assert.ok(!sweepKeys.some((item) => item.label === 'name'), 'name cannot be swept');
  const alpha = sweepKeys.find((item) => item.label === 'lora.alpha');
  assert.equal(alpha?.textEdit && 'range' in alpha.textEdit && alpha.textEdit.newText, 'lora.alpha: [${1:16}]');
  const [exprText, exprAt] = at(`${BASE}sweep:\n  lora.alpha: [|]`);
  assert.ok(
    completions(analyse(exprText), exprAt).some(
      (item) => item.textEdit && 'range' in item.textEdit && item.textEdit.newText === '"=2*lora.r"',
    ),
  );
  const [deviceText, deviceAt] = at(`${BASE}device: |`);
  assert.deepEqual(
    completions(analyse(deviceText), deviceAt).map((item) => item.label),
    ['auto', 'cpu', 'cuda', 'cuda:0'],
  );
  const [colonText, colonAt] = at(`${BASE}train:\n  optimizer:|`);
  const afterColon = completions(analyse(colonText), colonAt)[0];
  assert.equal(afterColon.textEdit && 'range' in afterColon.textEdit && afterColon.textEdit.newText, ' adamw');
  const [clipText, clipAt] = at(`${BASE}train:\n  grad_clip: |`);
  assert.deepEqual(
    completions(analyse(clipText), clipAt).map((item) => item.label),
    ['1', 'null'],
  );
  const [topText, topAt] = at(`${BASE}|`);
  const top = completions(analyse(topText), topAt).map((item) => item.label);
  assert.ok(!top.includes('model') && top.includes('lora') && top.includes('sweep over lora.r') && !top.includes('lora-lab config'));
  const [renameText, renameAt] = at(`${BASE}lora:\n  alp|ah: 32\n`);
  const rename = completions(analyse(renameText), renameAt).find((item) => item.label === 'alpha');
  assert.deepEqual(rename?.textEdit, { range: { start: { line: 3, character: 2 }, end: { line: 3, character: 7 } }, newText: 'alpha' });
  const [keyText, keyAt] = at(`${BASE}lora:\n  r: 8\n  |`);
  const rItem = completions(analyse(keyText), keyAt).find((item) => item.label === 'query');
  assert.equal(rItem?.textEdit && 'range' in rItem.textEdit && rItem.textEdit.newText, 'query: ${1|true,false|}');
});

test('hover: sections, the sweep, rslora scale, epochs ignored under max_steps, nothing on blank lines', () => {
  const text = `${BASE}lora:\n  r: 16\n  alpha: 16\n  rslora: true\ntrain:\n  epochs: 3\n  max_steps: 100\n\nsweep:\n  train.learning_rate: [1.0e-4, 3.0e-4]\n`;
  const analysis = analyse(text);
  const hoverAt = (line: number, character: number) => JSON.stringify(hover(analysis, { line, character })?.contents ?? null);
  assert.match(hoverAt(2, 1), /The LoRA adapters[\s\S]*Keys: r, alpha, dropout/);
  assert.match(hoverAt(4, 4), /alpha \/ sqrt\(r\) = 16 \/ sqrt\(16\) = 4; alpha = 2r would be 32/);
  assert.match(hoverAt(7, 4), /Ignored: train\.max_steps \(100\) is set/);
  assert.match(hoverAt(10, 2), /expands to 2 runs/);
  assert.match(hoverAt(11, 5), /Swept: 0\.0001, 0\.0003 over 2 variants/);
  assert.match(hoverAt(11, 33), /gives 0\.0003 in variant 1/);
  assert.equal(hoverAt(9, 0), 'null');
});

test('quick fixes applied: enum value, eval task, quantize with full, rank, empty value, out of range, sweep key, alpha inserted into its section', () => {
  const optimizer = `${BASE}train:\n  optimizer: adma\n`;
  assert.equal(fixed(optimizer, actionsFor(optimizer, 'unknown-enum-value')[0]), `${BASE}train:\n  optimizer: adamw\n`);
  const tasks = `${BASE}eval:\n  tasks: [truthfulqa_mc1, arithmetic_2dss]\n`;
  assert.equal(fixed(tasks, actionsFor(tasks, 'unknown-enum-value')[0]), `${BASE}eval:\n  tasks: [truthfulqa_mc1, arithmetic_2ds]\n`);
  const full = `${BASE}  quantize: bnb.nf4\ntrain:\n  method: full\n`;
  assert.deepEqual(
    actionsFor(full, 'quantize-with-full').map((action) => fixed(full, action)),
    [`${BASE}  quantize: none\ntrain:\n  method: full\n`, `${BASE}  quantize: bnb.nf4\ntrain:\n  method: lora\n`],
  );
  const rank = `${BASE}lora:\n  r: 128\n  alpha: 256\n`;
  const rankFix = actionsFor(rank, 'rank-exceeds-dimension', workspace());
  assert.equal(rankFix[0].title, 'Set lora.r to 64 (the largest the model allows)');
  assert.ok(!analyse(fixed(rank, rankFix[0])).parsed.problems.some((problem) => problem.code === 'rank-exceeds-dimension'));
  const empty = `${BASE}lora:\n  r:\n  alpha: 16\n`;
  assert.equal(fixed(empty, actionsFor(empty, 'wrong-type')[0]), `${BASE}lora:\n  r: 8\n  alpha: 16\n`);
  const missingAlpha = `${BASE}lora:\n  r: 32\n  dropout: 0.1\ntrain:\n  seed: 1\n`;
  const inserted = fixed(missingAlpha, actionsFor(missingAlpha, 'alpha-not-2r')[0]);
  assert.equal(inserted, `${BASE}lora:\n  r: 32\n  dropout: 0.1\n  alpha: 64\ntrain:\n  seed: 1\n`);
  assert.ok(!analyse(inserted).parsed.problems.some((problem) => problem.code === 'alpha-not-2r'));
  const dropout = `${BASE}lora:\n  dropout: 1.5\n`;
  assert.equal(fixed(dropout, actionsFor(dropout, 'out-of-range')[0]), `${BASE}lora:\n  dropout: 0.05\n`);
  const sweepKey = `${BASE}sweep:\n  lora.rr: [8, 16]\n`;
  assert.equal(fixed(sweepKey, actionsFor(sweepKey, 'sweep-unknown-key')[0]), `${BASE}sweep:\n  lora.r: [8, 16]\n`);
  const duplicate = `${BASE}lora:\n  alpha: 16\n  alpah: 16\n`;
  assert.deepEqual(actionsFor(duplicate, 'unknown-key'), [], 'no rename onto a key the section already has');
});

test('code lens: exact counts, full finetune, no file checks, unreadable config.json, large and broken sweeps', () => {
  const titles = (text: string, fs?: FileSystem) => codeLenses(analyse(text, fs)).map((lens) => lens.command?.title);
  assert.equal(titles(`${BASE}lora:\n  r: 8\n  alpha: 16\n`)[0], 'Trainable 4,096 / 111,936 parameters (3.66%, LoRA)');
  assert.equal(titles(`${BASE}train:\n  method: full\n`)[0], 'Trainable 111,936 / 111,936 parameters (100%, full finetune)');
  assert.equal(
    codeLenses(analyzeConfig(BASE, '/ws/run.lora.yaml'))[0].command?.title,
    'Parameters: unknown (the file checks are off for this document)',
  );
  assert.equal(
    titles(BASE, workspace({ '/ws/ckpt/config.json': '{"hidden_size": 64' }))[0],
    'Parameters: unknown (/ws/ckpt/config.json is not valid JSON)',
  );
  const big = titles(`${BASE}sweep:\n  lora.r: [2, 4, 8]\n  lora.alpha: ["=2*lora.r"]\n  train.learning_rate: [1.0e-4, 2.0e-4, 3.0e-4]\n`);
  assert.equal(big[0], 'Sweep of 9 variants: trainable 1.02K … 4.1K / 112K parameters');
  assert.match(big[1] ?? '', /^Variant 0 of 9 \(all in the trade-off table\): Peak ≈ \S+ \S+ on cpu \(weights /);
  assert.equal(titles(`${BASE}sweep:\n  lora.r: ["=1/0"]\n`)[0], 'Sweep: no valid variant (see the problems)');
  const lenses = codeLenses(analyse(BASE));
  assert.ok(lenses.every((lens) => lens.range.start.line === 0));
  assert.equal(lenses[0].command?.command, '', 'the parameter lens is a title');
  assert.equal(lenses[1].command?.command, 'loraLab.showTradeoffs', 'the estimate lens opens the trade-off table');
  assert.deepEqual(lenses[1].command?.arguments, ['file:///ws/run.lora.yaml']);
});

test('CachedFileSystem keeps file contents and read errors until invalidated', () => {
  const inner = workspace();
  const cached = new CachedFileSystem(inner);
  cached.readFile('/ws/ckpt/config.json');
  cached.readFile('/ws/ckpt/config.json');
  assert.throws(() => cached.readFile('/ws/nope.json'), /ENOENT/);
  assert.throws(() => cached.readFile('/ws/nope.json'), /ENOENT/);
  assert.deepEqual(inner.reads, ['/ws/ckpt/config.json', '/ws/nope.json']);
  cached.invalidate('/ws/ckpt/config.json');
  cached.readFile('/ws/ckpt/config.json');
  assert.equal(inner.reads.length, 3);
});

test('CachedFileSystem reads a file again once it exists (a download into the Hub cache from a terminal)', () => {
  const files: Record<string, string> = {};
  const cached = new CachedFileSystem(memoryFileSystem(files));
  const ref = '/cache/models--acme--tiny/refs/main';
  assert.throws(() => cached.readFile(ref), /ENOENT/);
  files[ref] = 'c'.repeat(40);
  assert.equal(cached.readFile(ref), 'c'.repeat(40));
});

test("a failing file system still gets the text's own problems", () => {
  const broken: FileSystem = {
    ...workspace(),
    exists: () => {
      throw new Error('EACCES: permission denied');
    },
  };
  const problems = analyse(`${BASE}lora:\n  r: 8\n  alpah: 16\n`, broken).parsed.problems;
  assert.ok(problems.some((problem) => problem.code === 'unknown-key'));
  assert.ok(problems.some((problem) => /could not be checked \(Error: EACCES/.test(problem.message)));
});

test('hover on every schema key: its documentation, default, range and finding', () => {
  const bench = twoHundredLineConfig();
  const analysis = analyzeConfig(bench, '/ws/run.lora.yaml', workspace());
  for (const spec of KEY_SPECS) {
    const location = analysis.parsed.locations.get(spec.key);
    assert.ok(location, `${spec.key} is in the generated config`);
    const shown = hover(analysis, location.keyRange.start);
    const text = shown && typeof shown.contents === 'object' && 'value' in shown.contents ? shown.contents.value : '';
    assert.ok(text.startsWith(`**${spec.key}**`), spec.key);
    assert.ok(text.includes(spec.doc) && text.includes('Default: `'), spec.key);
    if (spec.finding) assert.ok(text.includes(`Article: ${spec.finding}`), spec.key);
    const range = describeRange(spec);
    if (range) assert.ok(text.includes(range), spec.key);
  }
});

test('path completion: checkpoint folders first, dataset files inside the typed folder', () => {
  const [checkpointText, checkpointAt] = at('model:\n  checkpoint: |');
  const checkpoints = completions(analyse(checkpointText), checkpointAt);
  assert.deepEqual(
    checkpoints.map((item) => [item.label, item.detail]),
    [
      ['ckpt/', 'Hugging Face checkpoint (has config.json)'],
      ['data/', 'folder'],
    ],
  );
  assert.equal(checkpoints[0].textEdit && 'range' in checkpoints[0].textEdit && checkpoints[0].textEdit.newText, 'ckpt');
  const [dataText, dataAt] = at(`${BASE}data:\n  path: data/al|`);
  const files = completions(analyse(dataText), dataAt);
  assert.deepEqual(
    files.map((item) => item.label),
    ['alpaca.json', 'eval/'],
  );
  const edit = files[0].textEdit && 'range' in files[0].textEdit ? files[0].textEdit : undefined;
  assert.deepEqual(edit?.range, { start: { line: 3, character: 13 }, end: { line: 3, character: 15 } });
  assert.deepEqual(completions(analyzeConfig(dataText, '/ws/run.lora.yaml'), dataAt), [], 'no file system, no paths');
});

test('hover on an eval task names its kind and metric; the data ships with LoRA Lab', () => {
  const analysis = analyse(`${BASE}eval:\n  tasks: [mmlu_global_facts, arithmetic_4ds]\n`);
  const shown = hover(analysis, { line: 3, character: 14 });
  assert.deepEqual(shown?.range, { start: { line: 3, character: 10 }, end: { line: 3, character: 27 } });
  assert.match(
    JSON.stringify(shown?.contents),
    /mmlu_global_facts\*\* \(built-in evaluation task: multiple choice, metric acc, 100 documents, 400 requests\)\.\\n\\nMMLU global facts: four-way[^"]*\\n\\nIts data ships with LoRA Lab/,
  );
  assert.match(
    JSON.stringify(hover(analysis, { line: 3, character: 32 })?.contents),
    /arithmetic_4ds\*\* \(built-in evaluation task: loglikelihood, metric acc \(is_greedy\) and perplexity, 2000 documents, 2000 requests\)/,
  );
});

/** A snippet with every placeholder at its first value, as the editor inserts it before any typing. */
function expandSnippet(snippet: string): string {
  return snippet
    .replace(/\$\{\d+\|([^,|]*)[^}]*\|\}/g, '$1')
    .replace(/\$\{\d+:((?:\\.|[^}])*)\}/g, '$1')
    .replace(/\$\d+/g, '')
    .replace(/\\([$}\\])/g, '$1');
}

test('the new-config and sweep snippets expand to configs without problems', () => {
  const [emptyText, emptyAt] = at('|');
  const items = completions(analyse(emptyText), emptyAt);
  const newConfig = items.find((item) => item.label === 'lora-lab config');
  const sweep = items.find((item) => item.label === 'sweep over lora.r');
  const text = expandSnippet(newConfig?.textEdit && 'range' in newConfig.textEdit ? newConfig.textEdit.newText : '');
  assert.match(text, /^name: my-run\nmodel:\n {2}checkpoint: checkpoints\/meta-llama\/Llama-2-7b-hf\n {2}precision: bf16-true\n/);
  assert.deepEqual(analyzeConfig(text, '/ws/run.lora.yaml').parsed.problems, []);
  const swept = `${text}${expandSnippet(sweep?.textEdit && 'range' in sweep.textEdit ? sweep.textEdit.newText : '')}`;
  const analysis = analyzeConfig(swept, '/ws/run.lora.yaml');
  assert.deepEqual(analysis.parsed.problems, []);
  assert.deepEqual(
    analysis.parsed.variants.map((variant) => variant.overrides['lora.alpha']),
    [16, 32, 64, 128, 256, 512],
  );
});
