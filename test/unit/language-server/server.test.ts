// The language server over a stream: initialize, didOpen/didChange -> publishDiagnostics with exact
// ranges, completion, hover, code lens and quick fixes on the fixture configs in test/fixtures/lsp.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Diagnostic, Range, TextEdit } from 'vscode-languageserver-types';
import { LspSession, applyEdits, fixtureText, fixtureUri } from './lsp-harness';

const range = (line: number, start: number, endLine: number, end: number): Range => ({
  start: { line, character: start },
  end: { line: endLine, character: end },
});
const summary = (diagnostics: Diagnostic[]) =>
  diagnostics.map(
    (d) => `${d.severity} ${String(d.code)} ${d.range.start.line}:${d.range.start.character}-${d.range.end.line}:${d.range.end.character}`,
  );
const editsOf = (action: { edit?: { changes?: Record<string, TextEdit[]> } }, uri: string): TextEdit[] => action.edit?.changes?.[uri] ?? [];

let lsp: LspSession;
before(async () => {
  lsp = LspSession.inProcess();
  const init = await lsp.initialize();
  assert.ok(
    init.capabilities.completionProvider &&
      init.capabilities.hoverProvider &&
      init.capabilities.codeActionProvider &&
      init.capabilities.codeLensProvider,
  );
});
after(() => lsp.shutdown());

test('planted errors: every rule with its severity, exact range and message', async () => {
  const uri = fixtureUri('planted-errors.lora.yaml');
  await lsp.open(uri, fixtureText('planted-errors.lora.yaml'));
  const diagnostics = await lsp.diagnostics(uri);
  assert.deepEqual(summary(diagnostics).sort(), [
    '1 batch-size-multiple 13:21-13:24',
    '1 checkpoint-pickle-only 1:14-1:37',
    '1 data-path-missing 10:8-10:25',
    '1 fp16-on-cpu 2:13-2:20',
    '1 out-of-range 8:11-8:14',
    '1 unknown-enum-value 11:10-11:17',
    '1 unknown-enum-value 16:13-16:17',
    '1 unknown-key 3:2-3:10',
    '1 unknown-key 6:2-6:7',
    '4 alpha-not-2r 7:9-7:11',
    '4 epochs-over-one 15:10-15:11',
  ]);
  const message = (code: string) =>
    diagnostics
      .filter((d) => d.code === code)
      .map((d) => d.message)
      .join('\n');
  assert.match(message('unknown-key'), /Unknown key 'model\.quantise': did you mean 'quantize'\?/);
  assert.match(message('unknown-key'), /Unknown key 'lora\.alpah': did you mean 'alpha'\?/);
  assert.match(message('unknown-enum-value'), /'train\.optimizer' cannot be "adam"[^\n]*use one of: adamw, sgd/);
  assert.match(message('checkpoint-pickle-only'), /pickle checkpoints are not loaded/);
  assert.ok(diagnostics.every((d) => d.source === 'lora-lab'));
});

test('didChange: an incremental edit republishes for the new version', async () => {
  const uri = fixtureUri('planted-errors.lora.yaml');
  await lsp.open(uri, fixtureText('planted-errors.lora.yaml'));
  await lsp.change(uri, '', range(6, 0, 7, 0));
  const diagnostics = await lsp.diagnostics(uri);
  assert.ok(!diagnostics.some((d) => d.message.includes('lora.alpah')));
  assert.deepEqual(diagnostics.find((d) => d.code === 'alpha-not-2r')?.range, range(6, 9, 6, 11));
});

test('quick fixes: misspelt key, alpha = 2r, batch divisibility; applied, the problem is gone', async () => {
  const uri = fixtureUri('planted-errors.lora.yaml');
  let text = fixtureText('planted-errors.lora.yaml');
  await lsp.open(uri, text);
  await lsp.diagnostics(uri);
  const keyFix = (await lsp.codeActions(uri, range(3, 4, 3, 4))).find((action) => action.title === "Change to 'quantize'");
  assert.ok(keyFix, 'a fix for quantise');
  assert.equal(keyFix.kind, 'quickfix');
  const alphaFixes = await lsp.codeActions(uri, range(7, 9, 7, 11));
  assert.deepEqual(
    alphaFixes.map((action) => action.title),
    ["Set lora.alpha to 16 (2 × r, the article's best)"],
  );
  const batchFixes = await lsp.codeActions(uri, range(13, 21, 13, 24));
  assert.deepEqual(
    batchFixes.map((action) => action.title),
    [
      'Set train.global_batch_size to 99 (a multiple of 3)',
      'Set train.global_batch_size to 102 (a multiple of 3)',
      'Set train.micro_batch_size to 2 (divides 100)',
    ],
  );
  text = applyEdits(text, [...editsOf(keyFix, uri), ...editsOf(alphaFixes[0], uri), ...editsOf(batchFixes[2], uri)]);
  assert.match(text, /\n {2}quantize: bnb\.nf4\n/);
  assert.match(text, /\n {2}alpha: 16\n/);
  assert.match(text, /\n {2}micro_batch_size: 2\n/);
  await lsp.change(uri, text);
  const codes = (await lsp.diagnostics(uri)).map((d) => String(d.code));
  for (const gone of ['alpha-not-2r', 'batch-size-multiple']) assert.ok(!codes.includes(gone), gone);
  assert.equal(codes.filter((code) => code === 'unknown-key').length, 1);
  assert.ok(codes.includes('quantize-on-cpu'), 'the corrected key now takes effect');
});

test('quick fix: add a missing required key', async () => {
  const uri = fixtureUri('checkpoints/unsaved-missing-data.lora.yaml');
  const text = 'model:\n  checkpoint: llama2-7b\nlora:\n  r: 8\n  alpha: 16\n';
  await lsp.open(uri, text);
  const missing = (await lsp.diagnostics(uri)).find((d) => d.code === 'data-path-missing');
  assert.ok(missing);
  assert.deepEqual(missing.range, range(0, 0, 0, 0));
  const actions = await lsp.codeActions(uri, missing.range, [missing]);
  const add = actions.find((action) => action.title.startsWith('Add the required key data.path'));
  assert.ok(add, actions.map((action) => action.title).join('; '));
  const fixed = applyEdits(text, editsOf(add, uri));
  assert.equal(fixed, `${text}data:\n  path: data/alpaca.json\n`);
  await lsp.change(uri, fixed);
  const after = (await lsp.diagnostics(uri)).filter((d) => d.code === 'data-path-missing');
  assert.deepEqual(
    after.map((d) => d.range),
    [range(6, 8, 6, 24)],
    'the problem now sits on the value to edit',
  );
  await lsp.close(uri);
});

test('YAML syntax errors are reported and the rest is still served', async () => {
  const uri = fixtureUri('syntax-error.lora.yaml');
  await lsp.open(uri, fixtureText('syntax-error.lora.yaml'));
  const diagnostics = await lsp.diagnostics(uri);
  const syntax = diagnostics.find((d) => d.code === 'yaml-syntax');
  assert.ok(syntax);
  assert.deepEqual(syntax.range, range(4, 2, 4, 3));
  assert.match(syntax.message, /^YAML syntax: Flow sequence/);
  assert.ok(diagnostics.some((d) => d.code === 'batch-size-multiple' && d.range.start.line === 6 && d.range.start.character === 21));
  const lenses = await lsp.codeLens(uri);
  assert.match(lenses[0].command!.title, /^Estimate: fix \d+ problems? to estimate/, 'no numbers while the file has errors');
  const hover = await lsp.hover(uri, { line: 7, character: 5 });
  assert.match(JSON.stringify(hover?.contents), /Gradient accumulation: 128 \/ 3 = 42\.667 \(not whole: an error\)/);
});

test('completion: keys of the section not yet set, enum values, snippets', async () => {
  const uri = fixtureUri('valid.lora.yaml');
  const text = fixtureText('valid.lora.yaml');
  await lsp.open(uri, text);
  await lsp.change(uri, '  \n', range(10, 0, 10, 0));
  await lsp.change(uri, ', ', range(21, 40, 21, 40));
  await lsp.diagnostics(uri);
  const keys = (await lsp.completion(uri, { line: 10, character: 2 })).map((item) => item.label);
  assert.deepEqual(keys, ['dropout', 'key', 'projection', 'mlp', 'head', 'rslora']);
  const precision = await lsp.completion(uri, { line: 3, character: 13 });
  assert.deepEqual(
    precision.map((item) => item.label),
    ['bf16-true', 'bf16-mixed', '16-true', '32-true'],
  );
  assert.match(JSON.stringify(precision[2].documentation), /Not implemented by either engine/);
  const tasks = await lsp.completion(uri, { line: 21, character: 42 });
  assert.deepEqual(
    tasks.map((item) => item.label),
    ['truthfulqa_mc2', 'blimp_causative', 'mmlu_global_facts', 'arithmetic_4ds', 'arithmetic_2da', 'arithmetic_4da'],
  );

  const empty = fixtureUri('new.lora.yaml');
  await lsp.open(empty, '');
  const top = await lsp.completion(empty, { line: 0, character: 0 });
  const snippet = top.find((item) => item.label === 'lora-lab config');
  assert.ok(snippet && snippet.textEdit && 'range' in snippet.textEdit);
  assert.match(snippet.textEdit.newText, /^name: \$\{1:my-run\}\nmodel:\n {2}checkpoint: \$\{2:checkpoints\/meta-llama\/Llama-2-7b-hf\}/);
  assert.ok(top.some((item) => item.label === 'sweep over lora.r'));
});

test('hover: docs, default, range, finding and steps in micro-batch iterations', async () => {
  const uri = fixtureUri('valid.lora.yaml');
  await lsp.open(uri, fixtureText('valid.lora.yaml'));
  const steps = JSON.stringify((await lsp.hover(uri, { line: 16, character: 4 }))?.contents);
  assert.match(steps, /train\.max_steps/);
  assert.match(steps, /Default: `null`/);
  assert.match(
    steps,
    /390 optimizer steps = 12,480 micro-batch iterations \(the article's `max_iters`, at 128 \/ 4 = 32 micro-batches per step\) = 49,920 examples/,
  );
  const quantize = await lsp.hover(uri, { line: 4, character: 4 });
  assert.deepEqual(quantize?.range, range(4, 2, 4, 10));
  assert.match(JSON.stringify(quantize?.contents), /21\.33 GB -\\\\> 14\.18 GB/);
  assert.match(JSON.stringify((await lsp.hover(uri, { line: 4, character: 14 }))?.contents), /4-bit NormalFloat/);
  assert.match(
    JSON.stringify((await lsp.hover(uri, { line: 6, character: 3 }))?.contents),
    /Range: \\\\>= 1 and \\\\<= 65536[\s\S]*Trainable with these settings: 4,194,304 of 6,738,415,616/,
  );
  assert.equal(await lsp.hover(uri, { line: 0, character: 20 }), null);
});

test('code lens: parameters per sweep variant and the estimate state', async () => {
  const uri = fixtureUri('sweep.lora.yaml');
  await lsp.open(uri, fixtureText('sweep.lora.yaml'));
  const titles = (await lsp.codeLens(uri)).map((lens) => lens.command?.title);
  assert.deepEqual(titles.slice(0, 3), [
    'Variant 0 (lora.r=8, lora.alpha=16): trainable 20.3M / 6.74B (0.301%)',
    'Variant 1 (lora.r=16, lora.alpha=32): trainable 40.6M / 6.74B (0.602%)',
    'Variant 2 (lora.r=256, lora.alpha=512): trainable 649M / 6.74B (9.63%)',
  ]);
  // one estimator lens per variant: peak memory grows with the rank
  const peaks = titles
    .slice(3)
    .filter((title) => !title?.startsWith('Inspect dataset'))
    .map((title) => /^Variant (\d): Peak ≈ ([\d.]+) GiB on /.exec(title ?? ''));
  assert.equal(peaks.length, 3, JSON.stringify(titles));
  assert.ok(
    peaks.every((m) => m !== null),
    JSON.stringify(titles),
  );
  const gb = peaks.map((m) => Number(m![2]));
  assert.ok(gb[0] < gb[1] && gb[1] < gb[2], JSON.stringify(titles));
  const hover = JSON.stringify((await lsp.hover(uri, { line: 16, character: 18 }))?.contents);
  assert.match(hover, /lora\.alpha\*\* = `\\"=2\*lora\.r\\"` gives 16, 32, 512 in variants 0, 1, 2/);
});

test('watched files: a dataset that appears clears its diagnostic', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'lora-lsp-'));
  try {
    const configPath = join(folder, 'run.lora.yaml');
    const uri = pathToFileURL(configPath).toString();
    await lsp.open(uri, 'data:\n  path: train.jsonl\n  format: jsonl\n');
    assert.ok((await lsp.diagnostics(uri)).some((d) => d.code === 'data-path-missing'));
    const seen = lsp.publishCount;
    writeFileSync(join(folder, 'train.jsonl'), '{"instruction": "Say hi.", "output": "hi"}\n');
    await lsp.watchedFilesChanged(pathToFileURL(join(folder, 'train.jsonl')).toString());
    assert.ok(!(await lsp.diagnostics(uri, seen)).some((d) => d.code === 'data-path-missing'));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

// The server debounces a document whose last analysis took >= SLOW_ANALYSIS_MS (50 ms); a 1,024-variant
// sweep takes about that long on the machines here, so under or over it by chance. This test's own
// server counts every analysis of 1 ms or more as slow, which the sweep always is.
test('a slow document (a 1,024-variant sweep, the largest allowed) gets its diagnostics once typing pauses', async () => {
  const slow = LspSession.inProcess(undefined, undefined, undefined, 1);
  await slow.initialize();
  const uri = fixtureUri('unsaved-big-sweep.lora.yaml');
  const seeds = Array.from({ length: 32 }, (_, i) => i).join(', ');
  const text = (name: string) => `name: ${name}\nsweep:\n  train.seed: [${seeds}]\n  data.seed: [${seeds}]\n`;
  await slow.open(uri, text('big'));
  await slow.diagnostics(uri, undefined, 30_000);
  const before = slow.publishCount;
  for (const name of ['big-a', 'big-ab', 'big-abc']) await slow.change(uri, text(name));
  await slow.diagnostics(uri, undefined, 30_000);
  const versions = slow.publishedVersions(uri, before);
  assert.equal(versions[versions.length - 1], 4);
  assert.ok(versions.length < 3, `the edits in between were not analysed for diagnostics: ${JSON.stringify(versions)}`);
  await slow.close(uri);
  await slow.shutdown();
});

test('a path outside the workspace folder (the initialize rootUri) is a warning diagnostic', async () => {
  const uri = fixtureUri('outside-paths.lora.yaml');
  await lsp.open(uri, 'name: outside\nout_dir: ../../../../outside-runs\n');
  const found = (await lsp.diagnostics(uri)).filter((diagnostic) => diagnostic.code === 'path-outside-workspace');
  assert.deepEqual(
    found.map((diagnostic) => [diagnostic.severity, diagnostic.range.start.line, diagnostic.range.start.character]),
    [[2, 1, 9]],
  );
  assert.match(found[0].message, /^out_dir .*outside-runs is outside the workspace/);
  await lsp.close(uri);
});
