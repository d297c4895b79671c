// `lora-lab check`: file:line:col severity message lines, --json for tools, folders, exit codes.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkCommand, checkFile } from '../../../native/trainer/commands/check';
import { TINY_TOKENIZER_DIR } from '../helpers/tiny-checkpoint';
import { FIXTURES } from './lsp-harness';

async function runCheck(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await checkCommand.run(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}

test('a valid config: no lines, exit 0', async () => {
  const result = await runCheck([join(FIXTURES, 'valid.lora.yaml')]);
  assert.deepEqual([result.code, result.stdout], [0, '']);
  assert.match(result.stderr, /1 file, 0 errors, 0 warnings, 0 hints/);
});

test('planted errors: one line per problem with 1-based positions, exit 1', async () => {
  const file = join(FIXTURES, 'planted-errors.lora.yaml');
  const result = await runCheck([file]);
  assert.equal(result.code, 1);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 11);
  assert.ok(
    lines.includes(
      `${file}:14:22 error train.global_batch_size 100 is not a multiple of train.micro_batch_size 3: gradient accumulation needs a whole number of micro-batches (use 99 or 102).`,
    ),
  );
  assert.ok(
    lines.includes(
      `${file}:4:3 error Unknown key 'model.quantise': did you mean 'quantize'? Keys of model: checkpoint, precision, quantize.`,
    ),
  );
  assert.ok(lines.some((line) => line.startsWith(`${file}:8:10 hint lora.alpha is 12, not 2 * lora.r = 16`)));
  assert.ok(!lines.some((line) => /eval task/.test(line)), 'the built-in eval tasks ship their data: no eval warning');
  assert.match(result.stderr, /1 file, 9 errors, 0 warnings, 2 hints/);
});

test('--json: files with 1-based problems and totals', async () => {
  const result = await runCheck([join(FIXTURES, 'syntax-error.lora.yaml'), '--json']);
  assert.equal(result.code, 1);
  const report = JSON.parse(result.stdout) as { files: Array<{ file: string; problems: Array<Record<string, unknown>> }>; errors: number };
  assert.equal(report.files.length, 1);
  assert.deepEqual(report.files[0].problems[0], {
    line: 5,
    column: 3,
    endLine: 5,
    endColumn: 4,
    severity: 'error',
    code: 'yaml-syntax',
    key: '',
    message:
      "YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]. 1 more problem in the rest of 'lora' follows from this one and is shown once it is fixed.",
  });
  assert.deepEqual(
    report.files[0].problems.map((problem) => problem.code),
    ['yaml-syntax', 'batch-size-multiple'],
    "the unclosed list's follow-on (lora.r read as a list) is hidden; the train section's own error stays",
  );
  assert.equal(report.errors, report.files[0].problems.filter((problem) => problem.severity === 'error').length);
});

test('a folder checks every *.lora.yaml under it; a missing file is an error; no argument is a usage error', async () => {
  const folder = await runCheck([FIXTURES, '--json']);
  const files = (JSON.parse(folder.stdout) as { files: Array<{ file: string }> }).files.map((entry) =>
    entry.file.slice(FIXTURES.length + 1),
  );
  assert.deepEqual(files, ['planted-errors.lora.yaml', 'sweep.lora.yaml', 'syntax-error.lora.yaml', 'valid.lora.yaml']);
  const missing = await runCheck(['no/such/file.lora.yaml']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, 'no/such/file.lora.yaml:1:1 error cannot read the config file (ENOENT)\n');
  const none = await runCheck([join(FIXTURES, 'data')]);
  assert.deepEqual([none.code, none.stderr], [1, `lora-lab check: no *.lora.yaml or *.lora.yml files in ${join(FIXTURES, 'data')}.\n`]);
  assert.equal((await runCheck([])).code, 2);
  assert.equal((await runCheck(['x.lora.yaml', '--fix'])).code, 2);
});

test('mask_prompt with responses truncated away: check tokenizes the data and warns, naming the records', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-check-mask-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'ck'));
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'])
    copyFileSync(join(TINY_TOKENIZER_DIR, name), join(dir, 'ck', name));
  writeFileSync(join(dir, 'ck', 'model.safetensors'), '');
  const long = 'Explain in detail, step by step, with examples, why the sky looks blue on a clear day.';
  writeFileSync(
    join(dir, 'data.json'),
    JSON.stringify([
      { instruction: 'Add 2 and 3.', output: '5' },
      { instruction: long, output: 'Scattering.' },
      { instruction: long, output: 'Rayleigh.' },
    ]),
  );
  const config = (maxSeq: number) =>
    `model:\n  checkpoint: ck\ndata:\n  path: data.json\n  mask_prompt: true\n  max_seq_length: ${maxSeq}\neval:\n  tasks: [arithmetic_2ds]\n`;
  writeFileSync(join(dir, 'short.lora.yaml'), config(64));
  writeFileSync(join(dir, 'long.lora.yaml'), config(512));
  const short = await runCheck([join(dir, 'short.lora.yaml')]);
  assert.equal(short.code, 0, short.stdout);
  assert.match(
    short.stdout,
    /short\.lora\.yaml:5:16 warning data\.mask_prompt is true and data\.max_seq_length 64 leaves no response token in 2 of 3 records \(record 2, record 3\): .*E_BATCH.*Raise data\.max_seq_length/,
  );
  const long512 = await runCheck([join(dir, 'long.lora.yaml')]);
  assert.deepEqual([long512.code, long512.stdout], [0, '']);
});

test('paths outside the working directory are warnings, model caches information; the config folder counts when outside it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-check-paths-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'ws'));
  const file = join(dir, 'ws', 'run.lora.yaml');
  writeFileSync(
    file,
    `model:\n  checkpoint: ${join(homedir(), '.cache', 'huggingface', 'hub', 'm')}\nout_dir: ../elsewhere\neval:\n  tasks: [arithmetic_2ds]\n`,
  );
  const problems = checkFile(file, join(dir, 'ws')).problems.filter((problem) => /workspace|cache/.test(problem.code));
  assert.deepEqual(
    problems.map((problem) => [problem.severity, problem.key, problem.line, problem.column]),
    [
      ['information', 'model.checkpoint', 2, 15],
      ['warning', 'out_dir', 3, 10],
    ],
  );
  assert.deepEqual(
    checkFile(file, join(dir, 'unrelated'))
      .problems.filter((problem) => problem.code === 'path-outside-workspace')
      .map((problem) => problem.key),
    ['out_dir'],
  );
  const result = await runCheck([file, '--json']);
  const report = JSON.parse(result.stdout) as { information: number; warnings: number };
  assert.ok(report.information >= 1 && report.warnings >= 1, result.stdout);
});
