// The config language and custom evaluation tasks: completion and hover list built-in and custom
// tasks with description and request count; an unknown task (did-you-mean over both) and a broken
// custom task (missing data file, bad template) are errors on the task's own list item.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeConfig, completions, hover } from '../../../language-server/src/service';
import { workspace } from './memory-workspace';

const BASE = 'model:\n  checkpoint: ckpt\n';
const QA = [
  '{"q": "What is 2 plus 2?", "a": "4", "x": "4", "y": "5", "gold": "x"}',
  '{"q": "What is 3 plus 1?", "a": "4", "x": "3", "y": "4", "gold": "y"}',
].join('\n');
const CHOICE = [
  'name: my_choice',
  'description: Sums with two candidate answers',
  'kind: multiple_choice',
  'data: { file: qa.jsonl }',
  'context: "{{q}}"',
  'choices: { templates: ["{{x}}", "{{y}}"] }',
  'gold: { field: gold, among: [x, y] }',
].join('\n');
const GEN = ['name: my_gen', 'kind: generate_until', 'data: { file: evals/qa.jsonl }', 'context: "{{q}}"', 'target: "{{a}}"'].join('\n');

const fs = () =>
  workspace({
    '/ws/qa.jsonl': QA,
    '/ws/evals/qa.jsonl': QA,
    '/ws/my_choice.task.yaml': CHOICE,
    '/ws/data/eval/my_gen.task.yaml': GEN.replace('evals/qa.jsonl', '../../evals/qa.jsonl'),
    '/ws/data/eval/broken_data.task.yaml': GEN.replace('my_gen', 'broken_data').replace('evals/qa.jsonl', 'missing.jsonl'),
    '/ws/broken_template.task.yaml': GEN.replace('my_gen', 'broken_template')
      .replace('target: "{{a}}"', 'target: "{{a"')
      .replace('evals/', ''),
    '/ws/broken_field.task.yaml': GEN.replace('my_gen', 'broken_field').replace('{{q}}', '{{question}}').replace('evals/', ''),
  });
const analyse = (text: string) => analyzeConfig(text, '/ws/run.lora.yaml', fs());

test('custom tasks beside the config and under eval.data_dir are valid task names', () => {
  const analysis = analyse(`${BASE}eval:\n  tasks: [my_choice, my_gen, arithmetic_2ds]\n`);
  assert.deepEqual(
    analysis.parsed.problems.filter((p) => p.key.startsWith('eval')),
    [],
  );
});

test('an unknown task is an error on its own line with did-you-mean over built-in and custom tasks', () => {
  const text = `${BASE}eval:\n  tasks:\n    - arithmetic_2ds\n    - my_choise\n    - hellaswag\n`;
  const problems = analyse(text).parsed.problems.filter((p) => p.key.startsWith('eval'));
  assert.deepEqual(
    problems.map((p) => [p.key, p.code, p.range.start.line, p.range.start.character, p.range.end.character]),
    [
      ['eval.tasks[1]', 'unknown-enum-value', 5, 6, 15],
      ['eval.tasks[2]', 'unknown-enum-value', 6, 6, 15],
    ],
  );
  assert.match(problems[0].message, /unknown task "my_choise": did you mean 'my_choice'\?.*custom tasks: .*my_choice/);
  assert.match(
    problems[1].message,
    /unknown task "hellaswag"\. Built-in tasks: truthfulqa_mc1,.* A custom task is a <name>\.task\.yaml file/,
  );
});

test("a custom task's missing data file, bad template or missing field is an error at its line naming the task file's line", () => {
  const text = `${BASE}eval:\n  tasks:\n    - broken_data\n    - broken_template\n    - broken_field\n`;
  const problems = analyse(text).parsed.problems.filter((p) => p.key.startsWith('eval'));
  assert.deepEqual(
    problems.map((p) => [p.key, p.code, p.range.start.line]),
    [
      ['eval.tasks[0]', 'eval-task-invalid', 4],
      ['eval.tasks[1]', 'eval-task-invalid', 5],
      ['eval.tasks[2]', 'eval-task-invalid', 6],
    ],
  );
  assert.match(
    problems[0].message,
    /\/ws\/data\/eval\/broken_data\.task\.yaml:3: data\.file: \/ws\/data\/eval\/missing\.jsonl does not exist/,
  );
  assert.match(problems[1].message, /\/ws\/broken_template\.task\.yaml:5: target: '\{\{' at offset 0 is never closed/);
  assert.match(problems[2].message, /\/ws\/broken_field\.task\.yaml:4: context: \/ws\/qa\.jsonl:1: the field 'question' is missing/);
  assert.deepEqual(problems[0].data, { file: '/ws/data/eval/broken_data.task.yaml', line: 3 });
});

test('completion offers built-in and custom tasks with kind, metric, request count and description; hover says the same', () => {
  const text = `${BASE}eval:\n  tasks: [arithmetic_2ds, ]\n`;
  const analysis = analyse(text);
  const items = completions(analysis, { line: 3, character: 26 });
  const labels = items.map((i) => i.label);
  assert.ok(labels.includes('truthfulqa_mc1') && labels.includes('my_choice') && labels.includes('my_gen'), labels.join(', '));
  assert.ok(!labels.includes('arithmetic_2ds'), 'a task already listed is not offered again');
  const choice = items.find((i) => i.label === 'my_choice')!;
  assert.equal(choice.detail, 'custom: multiple choice, metric acc, 2 documents, 4 requests');
  assert.match(JSON.stringify(choice.documentation), /Sums with two candidate answers.*Defined in \/ws\/my_choice\.task\.yaml/);
  assert.equal(
    items.find((i) => i.label === 'truthfulqa_mc2')!.detail,
    'built-in: multiple choice, metric mc2, 817 documents, 5882 requests',
  );

  const hovered = analyse(`${BASE}eval:\n  tasks: [my_choice]\n`);
  assert.match(
    JSON.stringify(hover(hovered, { line: 3, character: 12 })?.contents),
    /my_choice\*\* \(custom evaluation task: multiple choice, metric acc, 2 documents, 4 requests\)\.\\n\\nSums with two candidate answers\\n\\nDefined in \/ws\/my_choice\.task\.yaml/,
  );
});
