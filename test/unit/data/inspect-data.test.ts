// `lora-lab inspect-data`: the JSON and text reports on a real tokenizer and a fixture dataset,
// and the exit codes of bad arguments, bad configs and malformed data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectDataCommand, MASK_CLOSE, MASK_OPEN } from '../../../native/trainer/commands/inspect-data';
import { llama2Dir } from './tokenizers';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'data');

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-inspect-'));
  const checkpoint = join(dir, 'ck');
  mkdirSync(checkpoint);
  symlinkSync(join(llama2Dir, 'tokenizer.json'), join(checkpoint, 'tokenizer.json'));
  copyFileSync(join(llama2Dir, 'tokenizer_config.json'), join(checkpoint, 'tokenizer_config.json'));
  writeFileSync(
    join(checkpoint, 'config.json'),
    JSON.stringify({ hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, vocab_size: 32000 }),
  );
  writeFileSync(join(checkpoint, 'model.safetensors'), '');
  copyFileSync(join(fixtures, 'alpaca-small.json'), join(dir, 'data.json'));
  copyFileSync(join(fixtures, 'malformed.jsonl'), join(dir, 'bad.jsonl'));
  writeFileSync(
    join(dir, 'run.lora.yaml'),
    'model:\n  checkpoint: ck\ndata:\n  path: data.json\n  mask_prompt: true\n  max_seq_length: 40\neval:\n  tasks: [arithmetic_2ds]\n',
  );
  return dir;
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await inspectDataCommand(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

test('inspect-data --json reports counts, the length distribution, shares and three examples', async (t) => {
  const dir = workspace();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { code, stdout, stderr } = await run([join(dir, 'run.lora.yaml'), '--json']);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.equal(report.dataset.records, 5);
  assert.equal(report.dataset.train + report.dataset.validation, 5);
  assert.equal(report.dataset.warnings.length, 1, 'the empty output is reported');
  assert.equal(report.stats.examples, 5);
  assert.ok(report.stats.truncated >= 1 && report.stats.truncated < 5);
  assert.equal(report.stats.lengths.max, 40);
  assert.ok(report.stats.maskedShare > 0.5 && report.stats.maskedShare < 1);
  assert.equal(
    report.stats.histogram.reduce((sum: number, bin: { count: number }) => sum + bin.count, 0),
    5,
  );
  assert.equal(report.examples.length, 3);
  for (const example of report.examples) {
    assert.match(example.masked, /^<s> ?Below is an instruction/);
    assert.ok(example.maskedTokens > 0 && example.maskedTokens <= example.tokens);
  }
  const second = await run([join(dir, 'run.lora.yaml'), '--json']);
  assert.equal(JSON.parse(second.stdout).cacheHit, true);
});

test('the text report marks the masked part and takes --set', async (t) => {
  const dir = workspace();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { code, stdout } = await run([join(dir, 'run.lora.yaml'), '--set', 'data.max_seq_length=4096']);
  assert.equal(code, 0);
  assert.match(stdout, /5 records/);
  assert.match(stdout, /Truncated {3}0 of 5 \(0\.00%\)/);
  assert.match(stdout, /median \d+, mean [\d.]+, p90 \d+, p99 \d+, max \d+/);
  assert.match(stdout, new RegExp(`${MASK_OPEN.replace(/[[\]/]/g, '\\$&')}<s> ?Below is an instruction`));
  assert.ok(stdout.includes(`### Response:\n${MASK_CLOSE}`));
  assert.equal(stdout.split('--- example').length - 1, 3);
});

test('exit codes: bad arguments 2; config errors, malformed data and bad --set 1, naming file and line', async (t) => {
  const dir = workspace();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal((await run([])).code, 2);
  assert.equal((await run([join(dir, 'run.lora.yaml'), '--frobnicate'])).code, 2);
  writeFileSync(join(dir, 'typo.lora.yaml'), 'model:\n  checkpoint: ck\ndata:\n  pth: data.json\n');
  const typo = await run([join(dir, 'typo.lora.yaml')]);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /typo\.lora\.yaml:4:3: error: Unknown key 'data\.pth': did you mean 'path'\?/);
  writeFileSync(join(dir, 'bad.lora.yaml'), 'model:\n  checkpoint: ck\ndata:\n  path: bad.jsonl\n  format: jsonl\n');
  const bad = await run([join(dir, 'bad.lora.yaml')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /bad\.jsonl:2: error \(record 2\): malformed JSON line/);
  assert.match(bad.stderr, /bad\.jsonl:3: error \(record 3\): the required field 'output' is missing/);
  const set = await run([join(dir, 'run.lora.yaml'), '--set', 'data.max_seq_length=many']);
  assert.equal(set.code, 1);
  assert.match(set.stderr, /'data\.max_seq_length' expects an integer/);
});
