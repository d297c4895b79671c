// The dataset panel's inspection (native/trainer/data/inspect.ts and `inspect-data --ipc`): the
// same stats as `inspect-data --json`, rejected rows listed with their lines instead of failing,
// progress while tokenizing, token pieces that join to the decoded example, the sample spread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectDataCommand } from '../../../native/trainer/commands/inspect-data';
import { inspectDataset, pickSamples, tokenPieces } from '../../../native/trainer/data/inspect';
import { parseConfig } from '../../../language-server/src/config/parse';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { readDatasetLenient } from '../../../language-server/src/lib/data/dataset';
import type { TokenizedExample } from '../../../language-server/src/lib/data/example';
import { llama2Dir, llama2Tokenizer } from './tokenizers';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'data');

function workspace(dataFile: string, dataYaml: string): { dir: string; configPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-inspect-ds-'));
  const checkpoint = join(dir, 'ck');
  mkdirSync(checkpoint);
  symlinkSync(join(llama2Dir, 'tokenizer.json'), join(checkpoint, 'tokenizer.json'));
  copyFileSync(join(llama2Dir, 'tokenizer_config.json'), join(checkpoint, 'tokenizer_config.json'));
  writeFileSync(
    join(checkpoint, 'config.json'),
    JSON.stringify({ hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, vocab_size: 32000 }),
  );
  writeFileSync(join(checkpoint, 'model.safetensors'), '');
  if (existsSync(join(fixtures, dataFile))) copyFileSync(join(fixtures, dataFile), join(dir, dataFile));
  const configPath = join(dir, 'run.lora.yaml');
  writeFileSync(configPath, `model:\n  checkpoint: ck\ndata:\n${dataYaml}\neval:\n  tasks: [arithmetic_2ds]\n`);
  return { dir, configPath };
}

function configOf(configPath: string) {
  return parseConfig(nodeFileSystem.readFile(configPath), configPath, nodeFileSystem).config;
}

test("the panel's stats and counts are those of inspect-data --json; the sample pieces join to the decoded example", async (t) => {
  const { dir, configPath } = workspace('alpaca-small.json', '  path: alpaca-small.json\n  mask_prompt: true\n  max_seq_length: 40');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let stdout = '';
  assert.equal(await inspectDataCommand([configPath, '--json'], { stdout: (s) => (stdout += s), stderr: () => {} }), 0);
  const cli = JSON.parse(stdout);
  const phases: string[] = [];
  const report = await inspectDataset(configOf(configPath), configPath, {
    cacheDir: null,
    tokenizer: llama2Tokenizer(),
    onProgress: (phase, done, total) => phases.push(`${phase} ${done}/${total}`),
  });
  assert.deepEqual(report.stats, cli.stats);
  assert.deepEqual(report.dataset, {
    file: cli.dataset.file,
    format: cli.dataset.format,
    records: cli.dataset.records,
    train: cli.dataset.train,
    validation: cli.dataset.validation,
  });
  assert.equal(report.maxSeqLength, 40);
  assert.deepEqual(report.rejected, []);
  assert.ok(phases.includes('tokenizing 5/5'), phases.join(', '));
  assert.equal(report.samples.length, 5, 'a small file is browsed whole');
  for (const sample of report.samples) {
    assert.equal(sample.pieces.length, sample.ids.length);
    assert.equal(sample.pieces.join(''), llama2Tokenizer().decode(sample.ids), `record ${sample.record}`);
    assert.ok(sample.maskedTokens > 0 && sample.maskedTokens === sample.promptTokens, 'mask_prompt masks the prompt');
  }
  assert.ok(report.promptShare > 0 && report.promptShare < 1);
  assert.ok(Math.abs(report.promptShare - cli.stats.maskedShare) < 1e-12, 'with mask_prompt the prompt share is the masked share');
});

test('malformed rows are rejected with file:line and why, the rest still inspected, no token cache written', async (t) => {
  const { dir, configPath } = workspace('malformed.jsonl', '  format: jsonl\n  path: malformed.jsonl');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = await inspectDataset(configOf(configPath), configPath, { tokenizer: llama2Tokenizer() });
  assert.deepEqual(
    report.rejected.map((issue) => [issue.line, issue.record]),
    [
      [2, 1],
      [3, 2],
    ],
  );
  assert.match(report.rejected[0].message, /^malformed JSON line/);
  assert.equal(report.rejected[1].message, "the required field 'output' is missing");
  assert.equal(report.rejected[0].file, join(dir, 'malformed.jsonl'));
  assert.equal(report.dataset.records, 1);
  assert.equal(report.stats.examples, 1);
  assert.equal(existsSync(join(dir, 'out')), false, 'the trainer caches only files it accepts');
  // The CLI still refuses the file (the trainer would).
  let stderr = '';
  assert.equal(await inspectDataCommand([configPath, '--json'], { stdout: () => {}, stderr: (s) => (stderr += s) }), 1);
  assert.match(stderr, /malformed\.jsonl:2: error/);
});

test('a file that is not UTF-8 is one rejected row naming the line of the bad byte', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-lenient-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'latin1.jsonl');
  writeFileSync(
    file,
    Buffer.concat([
      Buffer.from('{"instruction": "a", "output": "b"}\n{"instruction": "caf'),
      Buffer.from([0xe9]),
      Buffer.from('", "output": "x"}\n'),
    ]),
  );
  const dataset = readDatasetLenient(file, 'jsonl');
  assert.equal(dataset.records.length, 0);
  assert.equal(dataset.rejected.length, 1);
  assert.equal(dataset.rejected[0].line, 2);
  assert.match(dataset.rejected[0].message, /not UTF-8/);
  assert.throws(() => readDatasetLenient(join(dir, 'missing.json'), 'alpaca'), /cannot read the dataset/);
});

test('progress: tokenizing reports ascending counts every progressEvery records, ending at the total', async (t) => {
  const { dir, configPath } = workspace('many.jsonl', '  format: jsonl\n  path: many.jsonl');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = Array.from({ length: 1200 }, (_, i) =>
    JSON.stringify({ instruction: `Add ${i} and ${i + 1}.`, output: String(2 * i + 1) }),
  );
  writeFileSync(join(dir, 'many.jsonl'), lines.join('\n') + '\n');
  const done: number[] = [];
  const report = await inspectDataset(configOf(configPath), configPath, {
    cacheDir: null,
    tokenizer: llama2Tokenizer(),
    progressEvery: 250,
    samples: 10,
    onProgress: (phase, count) => phase === 'tokenizing' && done.push(count),
  });
  assert.deepEqual(done, [250, 500, 750, 1000, 1200]);
  assert.equal(report.samples.length, 10);
  assert.deepEqual(
    report.samples.map((s) => s.record),
    [...report.samples.map((s) => s.record)].sort((a, b) => a - b),
    'samples in file order',
  );
  assert.equal(report.dataset.train + report.dataset.validation, 1200);
});

test('token pieces: byte-fallback characters come whole on the token that completes them', () => {
  const tokenizer = llama2Tokenizer();
  const ids = tokenizer.encode('Hi 🦙 there é', { bos: true });
  const pieces = tokenPieces(tokenizer, ids);
  assert.equal(pieces.join(''), tokenizer.decode(ids));
  assert.ok(pieces.includes('🦙') || pieces.some((p) => p.endsWith('🦙')), JSON.stringify(pieces));
  assert.ok(!pieces.some((p) => p.includes('\uFFFD')), 'no half characters');
});

test('pickSamples: the first, the median-length and the longest record are always among them', () => {
  const example = (id: number, length: number): TokenizedExample => ({
    id,
    inputIds: new Int32Array(length),
    maskedLength: 0,
    promptLength: 0,
    truncated: false,
    prefixViolation: false,
  });
  const examples = Array.from({ length: 100 }, (_, i) => example(i, i === 77 ? 500 : 10 + (i % 7)));
  const picked = pickSamples(examples, 5).map((e) => e.id);
  assert.equal(picked.length, 5);
  assert.ok(picked.includes(0) && picked.includes(77), String(picked));
  assert.deepEqual(
    picked,
    [...picked].sort((a, b) => a - b),
  );
  assert.equal(pickSamples(examples.slice(0, 3), 5).length, 3);
});
