// Evaluation data loading: every shipped file matches MANIFEST.json; a changed byte, a malformed
// row (file:line), an unknown task and a task definition without choices are clear errors.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildTaskRequests,
  builtinTask,
  BUILTIN_TASKS,
  loadRows,
  parseCsv,
  readVerified,
  validateTask,
  type TaskSpec,
} from '../../../language-server/src/eval';

const dataDir = join(process.cwd(), 'language-server', 'eval-data');

function withCopy(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'lora-lab-eval-data-'));
  try {
    cpSync(dataDir, dir, { recursive: true });
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every shipped data file matches its sha256 and row count', () => {
  const manifest = JSON.parse(readFileSync(join(dataDir, 'MANIFEST.json'), 'utf8')) as { files: Record<string, unknown> };
  assert.equal(Object.keys(manifest.files).length, 9);
  for (const file of Object.keys(manifest.files)) assert.ok(readVerified(dataDir, file).length > 0);
  const counts: Record<string, number> = {};
  for (const task of BUILTIN_TASKS) counts[task.name] = loadRows(dataDir, task.data).length;
  assert.deepEqual(counts, {
    truthfulqa_mc1: 817,
    truthfulqa_mc2: 817,
    blimp_causative: 1000,
    mmlu_global_facts: 100,
    arithmetic_2ds: 2000,
    arithmetic_4ds: 2000,
    arithmetic_2da: 2000,
    arithmetic_4da: 2000,
  });
});

test('a data file with one changed byte is refused, naming the file and both hashes', () => {
  withCopy((dir) => {
    const path = join(dir, 'blimp_causative.jsonl');
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('Aaron breaks', 'Aaron Breaks'));
    assert.throws(
      () => buildTaskRequests(builtinTask('blimp_causative'), dir, { profile: 'lm-eval', numFewshot: 0, limit: null }),
      (e: Error) => e.message.includes(path) && /sha256 is [0-9a-f]{64} but MANIFEST\.json expects 2e1006cc/.test(e.message),
    );
  });
});

test('a file missing from the manifest, and a missing manifest, are errors', () => {
  withCopy((dir) => {
    assert.throws(() => readVerified(dir, 'other.jsonl'), /other\.jsonl: not listed in .*MANIFEST\.json/);
    rmSync(join(dir, 'MANIFEST.json'));
    assert.throws(() => readVerified(dir, 'blimp_causative.jsonl'), /MANIFEST\.json is missing/);
  });
});

test('a malformed row names file:line (re-hashed so only the row is wrong)', async () => {
  const { createHash } = await import('node:crypto');
  withCopy((dir) => {
    const path = join(dir, 'arithmetic_two_digit_addition.jsonl');
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[6] = '{"context": "\\n\\nQ: What is 1 plus 1?\\n\\nA:", "completion": ';
    writeFileSync(path, lines.join('\n'));
    const manifestPath = join(dir, 'MANIFEST.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Record<string, { sha256: string }> };
    manifest.files['arithmetic_two_digit_addition.jsonl'].sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    assert.throws(
      () => buildTaskRequests(builtinTask('arithmetic_2da'), dir, { profile: 'lm-eval', numFewshot: 0, limit: null }),
      (e: Error) => e.message.startsWith(`${path}:7: not valid JSON`),
    );
    // a row without the field the template needs
    lines[6] = '{"context": "\\n\\nQ: What is 1 plus 1?\\n\\nA:"}';
    writeFileSync(path, lines.join('\n'));
    manifest.files['arithmetic_two_digit_addition.jsonl'].sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    assert.throws(
      () => buildTaskRequests(builtinTask('arithmetic_2da'), dir, { profile: 'lm-eval', numFewshot: 0, limit: null }),
      (e: Error) => e.message.startsWith(`${path}:7: the field 'completion' is missing`),
    );
  });
});

test('CSV: RFC 4180 quotes, doubled quotes, CRLF rows, unstripped cells, wrong column count by line', () => {
  assert.deepEqual(parseCsv('"a, b",c\r\n"say ""hi""", d \r\nx,"multi\nline"', 'f.csv'), [
    { cells: ['a, b', 'c'], line: 1 },
    { cells: ['say "hi"', ' d '], line: 2 },
    { cells: ['x', 'multi\nline'], line: 3 },
  ]);
  assert.throws(() => parseCsv('a,"b\r\n', 'f.csv'), /f\.csv:1: a quoted field is never closed/);
  const rows = loadRows(dataDir, builtinTask('mmlu_global_facts').data);
  assert.equal(rows[0].row.answer, 'C');
  assert.match(rows[1].where, /mmlu_global_facts_test\.csv:2$/);
});

test('unknown task and a task definition without choices are errors naming the task and key', () => {
  assert.throws(
    () => builtinTask('truthfulqa_mc3'),
    /unknown evaluation task 'truthfulqa_mc3'; known tasks: truthfulqa_mc1, truthfulqa_mc2, blimp_causative, mmlu_global_facts, arithmetic_2ds/,
  );
  const noChoices = { ...builtinTask('mmlu_global_facts'), name: 'my_quiz', choices: undefined } as TaskSpec;
  assert.throws(() => validateTask(noChoices), /task my_quiz: choices: a multiple_choice task needs choices/);
  const oneChoice = { ...builtinTask('mmlu_global_facts'), name: 'my_quiz', choices: { templates: ['A'] } } as TaskSpec;
  assert.throws(() => validateTask(oneChoice), /task my_quiz: choices\.templates: needs at least two choices/);
  const badFilter = { ...builtinTask('arithmetic_2ds'), name: 'x', context: '{{context | upper}}' } as TaskSpec;
  assert.throws(() => validateTask(badFilter), /task x: context: unknown filter or wrong arguments 'upper'/);
  const badGold = { ...builtinTask('truthfulqa_mc2'), name: 'y', gold: { index: 0 } } as TaskSpec;
  assert.throws(() => validateTask(badGold), /task y: gold: mc2 needs \{labels_of: field\}/);
});
