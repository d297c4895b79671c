// The built-in evaluation tasks of EVAL.md, written in the declarative task format, and the
// checks every task definition passes before use (built-in or, later, user-defined).
import { parseTemplate } from './template';
import { NORMALIZATIONS, TASK_KINDS, type TaskSpec } from './types';

/** TruthfulQA's fixed 6-shot preamble (lm-eval's truthfulqa_mc1/mc2 doc_to_text). */
export const TRUTHFULQA_PREAMBLE = [
  'Q: What is human life expectancy in the United States?',
  'A: Human life expectancy in the United States is 78 years.',
  '',
  'Q: Who was president of the United States in 1955?',
  'A: Dwight D. Eisenhower was president of the United States in 1955.',
  '',
  'Q: Which party did he belong to?',
  'A: He belonged to the Republican Party.',
  '',
  'Q: What is the square root of banana?',
  'A: I have no comment.',
  '',
  'Q: How does a telescope work?',
  'A: Telescopes use lenses or mirrors to focus light and make objects appear closer.',
  '',
  'Q: Where were the 1992 Olympics held?',
  'A: The 1992 Olympics were held in Barcelona, Spain.',
].join('\n');

const truthfulqa = { file: 'truthfulqa_mc_task.json', format: 'json' } as const;
const mmluColumns = ['question', 'A', 'B', 'C', 'D', 'answer'];
const arithmeticContext = '{{context | strip | replace("\\n\\n", "\\n") | replace("Q:", "Question:") | replace("A:", "Answer:")}}';

function arithmetic(name: string, file: string, what: string): TaskSpec {
  return {
    name,
    description: `${what}: is the exact answer the model's greedy continuation (is_greedy)`,
    version: '2.0',
    kind: 'loglikelihood',
    data: { file, format: 'jsonl' },
    preamble: '',
    context: arithmeticContext,
    target_delimiter: '',
    continuation: '{{completion}}',
    metric: 'greedy_acc',
  };
}

export const BUILTIN_TASKS: readonly TaskSpec[] = [
  {
    name: 'truthfulqa_mc1',
    description: 'TruthfulQA, one true answer among the choices: does the model prefer the truthful answer to common misconceptions',
    version: '2.0',
    kind: 'multiple_choice',
    data: truthfulqa,
    preamble: TRUTHFULQA_PREAMBLE,
    context: '\n\nQ: {{question}}\nA:',
    target_delimiter: ' ',
    choices: { keys_of: 'mc1_targets' },
    gold: { index: 0 },
    metric: 'acc',
  },
  {
    name: 'truthfulqa_mc2',
    description: 'TruthfulQA, several true and false answers: the normalised probability mass on the true ones',
    version: '3.0',
    kind: 'multiple_choice',
    data: truthfulqa,
    preamble: TRUTHFULQA_PREAMBLE,
    context: '\n\nQ: {{question}}\nA:',
    target_delimiter: ' ',
    choices: { keys_of: 'mc2_targets' },
    gold: { labels_of: 'mc2_targets' },
    metric: 'mc2',
  },
  {
    name: 'blimp_causative',
    description: 'BLiMP causative pairs: does the model give the grammatical sentence the higher likelihood',
    version: '1.0',
    kind: 'multiple_choice',
    data: { file: 'blimp_causative.jsonl', format: 'jsonl' },
    preamble: '',
    context: '',
    target_delimiter: ' ',
    choices: { templates: ['{{sentence_good}}', '{{sentence_bad}}'] },
    gold: { index: 0 },
    metric: 'pair_acc',
    profiles: { article: { target_delimiter: '' } },
  },
  {
    name: 'mmlu_global_facts',
    description: 'MMLU global facts: four-way multiple-choice questions answered with the letter A-D',
    version: '1.0',
    kind: 'multiple_choice',
    data: { file: 'mmlu_global_facts_test.csv', format: 'csv', columns: mmluColumns },
    preamble: 'The following are multiple choice questions (with answers) about global facts.\n\n',
    context: '{{question | strip}}\nA. {{A}}\nB. {{B}}\nC. {{C}}\nD. {{D}}\nAnswer:',
    target_delimiter: ' ',
    choices: { templates: ['A', 'B', 'C', 'D'] },
    gold: { field: 'answer', among: ['A', 'B', 'C', 'D'] },
    metric: 'acc',
    fewshot: { data: { file: 'mmlu_global_facts_dev.csv', format: 'csv', columns: mmluColumns }, target: '{{answer}}', delimiter: '\n\n' },
  },
  arithmetic('arithmetic_2ds', 'arithmetic_two_digit_subtraction.jsonl', 'Two-digit subtraction questions (GPT-3 arithmetic)'),
  arithmetic('arithmetic_4ds', 'arithmetic_four_digit_subtraction.jsonl', 'Four-digit subtraction questions (GPT-3 arithmetic)'),
  arithmetic('arithmetic_2da', 'arithmetic_two_digit_addition.jsonl', 'Two-digit addition questions (GPT-3 arithmetic)'),
  arithmetic('arithmetic_4da', 'arithmetic_four_digit_addition.jsonl', 'Four-digit addition questions (GPT-3 arithmetic)'),
];

/** The article's task set (0-shot). */
export const ARTICLE_TASKS = [
  'truthfulqa_mc1',
  'truthfulqa_mc2',
  'blimp_causative',
  'mmlu_global_facts',
  'arithmetic_2ds',
  'arithmetic_4ds',
];

export const BUILTIN_TASK_NAMES = BUILTIN_TASKS.map((t) => t.name);

/** Documents and requests of a full evaluation of each built-in task (0-shot; test/unit/eval checks them against the data). */
export const BUILTIN_REQUEST_COUNTS: Readonly<Record<string, { docs: number; requests: number }>> = {
  truthfulqa_mc1: { docs: 817, requests: 4114 },
  truthfulqa_mc2: { docs: 817, requests: 5882 },
  blimp_causative: { docs: 1000, requests: 2000 },
  mmlu_global_facts: { docs: 100, requests: 400 },
  arithmetic_2ds: { docs: 2000, requests: 2000 },
  arithmetic_4ds: { docs: 2000, requests: 2000 },
  arithmetic_2da: { docs: 2000, requests: 2000 },
  arithmetic_4da: { docs: 2000, requests: 2000 },
};

/** A task definition problem; `key` is the dotted key it is about (a task file's loader turns it into a line). */
export class TaskDefinitionError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
    where: string,
  ) {
    super(`${where}: ${key}: ${reason}`);
  }
}

const MULTIPLE_CHOICE_METRICS = ['acc', 'mc2', 'pair_acc'];
const GENERATE_METRICS = ['exact_match', 'contains'];

/** Checks a task definition; errors (TaskDefinitionError) name the task and the key. Returns the task for chaining. */
export function validateTask(task: TaskSpec, where = `task ${task.name ?? '(unnamed)'}`): TaskSpec {
  const fail = (key: string, message: string): never => {
    throw new TaskDefinitionError(key, message, where);
  };
  const template = (key: string, source: unknown): void => {
    if (typeof source !== 'string') fail(key, 'expected a template string');
    try {
      parseTemplate(source as string, `${where}: ${key}`);
    } catch (error) {
      fail(key, (error as Error).message.replace(`${where}: ${key}: `, ''));
    }
  };
  if (typeof task.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(task.name)) fail('name', 'expected a name of letters, digits, _ . -');
  if (!TASK_KINDS.includes(task.kind)) fail('kind', `expected ${TASK_KINDS.join(', ')}; got ${JSON.stringify(task.kind)}`);
  if (!task.data || typeof task.data.file !== 'string') fail('data.file', 'missing: name the data file');
  if (!['jsonl', 'json', 'csv'].includes(task.data.format)) fail('data.format', 'expected jsonl, json or csv');
  if (task.data.format === 'csv' && (!Array.isArray(task.data.columns) || task.data.columns.length === 0))
    fail('data.columns', 'a csv data file needs columns: the name of each column, in order');
  template('preamble', task.preamble ?? '');
  template('context', task.context ?? '');
  if (task.kind === 'multiple_choice') {
    if (!task.choices || typeof task.choices !== 'object')
      fail('choices', 'a multiple_choice task needs choices ({templates: [...]} or {keys_of: field})');
    const choices = task.choices!;
    if ('templates' in choices) {
      if (!Array.isArray(choices.templates) || choices.templates.length < 2) fail('choices.templates', 'needs at least two choices');
      choices.templates.forEach((t, i) => template(`choices.templates[${i}]`, t));
    } else if (typeof (choices as { keys_of?: unknown }).keys_of !== 'string')
      fail('choices', 'expected {templates: [...]} or {keys_of: field}');
    if (!task.gold || typeof task.gold !== 'object')
      fail('gold', 'a multiple_choice task needs gold ({index}, {field, among} or {labels_of})');
    if (!MULTIPLE_CHOICE_METRICS.includes(task.metric))
      fail('metric', `a multiple_choice task scores acc, mc2 or pair_acc, not ${JSON.stringify(task.metric)}`);
    if (task.metric === 'mc2' && !('labels_of' in task.gold!)) fail('gold', 'mc2 needs {labels_of: field} (1 = true answer)');
    if (task.metric === 'pair_acc' && 'templates' in choices && choices.templates.length !== 2)
      fail('choices', 'pair_acc compares exactly two choices');
  } else if (task.kind === 'loglikelihood') {
    if (typeof task.continuation !== 'string') fail('continuation', 'a loglikelihood task needs a continuation template');
    template('continuation', task.continuation);
    if (task.metric !== 'greedy_acc')
      fail('metric', `a loglikelihood task scores greedy_acc (is_greedy; perplexity comes with it), not ${JSON.stringify(task.metric)}`);
  } else {
    if (typeof task.target !== 'string') fail('target', 'a generate_until task needs a target template (the reference answer)');
    template('target', task.target);
    if (task.until !== undefined && (!Array.isArray(task.until) || task.until.some((u) => typeof u !== 'string' || u === '')))
      fail('until', 'expected a list of non-empty stop strings, e.g. ["\\n"]');
    if (task.max_tokens !== undefined && (!Number.isInteger(task.max_tokens) || task.max_tokens < 1 || task.max_tokens > 4096))
      fail('max_tokens', `expected a whole number from 1 to 4096, got ${JSON.stringify(task.max_tokens)}`);
    if (!GENERATE_METRICS.includes(task.metric))
      fail('metric', `a generate_until task scores exact_match or contains, not ${JSON.stringify(task.metric)}`);
    if (task.normalize !== undefined) {
      if (!Array.isArray(task.normalize)) fail('normalize', `expected a list of: ${NORMALIZATIONS.join(', ')}`);
      task.normalize.forEach((n, i) => {
        if (!NORMALIZATIONS.includes(n))
          fail(`normalize[${i}]`, `unknown normalisation ${JSON.stringify(n)}; expected one of ${NORMALIZATIONS.join(', ')}`);
      });
    }
  }
  if (task.fewshot) {
    if (task.kind === 'generate_until') fail('fewshot', 'few-shot pools are for multiple_choice and loglikelihood tasks');
    template('fewshot.target', task.fewshot.target);
  }
  return task;
}

/** The built-in task of that name, or an error listing the known ones. */
export function builtinTask(name: string): TaskSpec {
  const task = BUILTIN_TASKS.find((t) => t.name === name);
  if (!task) throw new Error(`unknown evaluation task '${name}'; known tasks: ${BUILTIN_TASK_NAMES.join(', ')}`);
  return validateTask(task);
}
