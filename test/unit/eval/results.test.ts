// lm-eval 0.4's results keys (and the article profile's 0.3 keys), and the samples lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildResults, builtinTask, docMetric, resultsStamp, sampleLines, type TaskScores } from '../../../language-server/src/eval';

function scores(name: string, lls: number[][], gold: number[]): TaskScores {
  const task = builtinTask(name);
  const docs = lls.map((l, i) => ({ docId: i, requests: l.map((_, j) => ({ context: `c${i}`, continuation: ` x${j}` })), gold: gold[i] }));
  const results = lls.map((l) => l.map((ll) => ({ sumLogprob: ll, isGreedy: false })));
  const metrics = results.map((r, i) => docMetric(task.metric, r, gold[i], undefined, 'lm-eval'));
  return { task, numFewshot: 0, original: 100, docs, results, metrics, truncatedRequests: 1, maxTokensDropped: 7 };
}

const info = {
  model: '/m',
  adapter: null,
  profile: 'lm-eval' as const,
  limit: 2,
  batchSize: 64,
  device: 'cpu',
  bos: null,
  maxLength: 128,
  date: 1700000000,
};

test('results file: lm-eval 0.4 keys per task', () => {
  const t = scores(
    'mmlu_global_facts',
    [
      [-1, -2, -3, -4],
      [-1, -0.5, -3, -4],
    ],
    [0, 0],
  );
  const out = buildResults([t], info);
  assert.deepEqual(Object.keys(out).sort(), [
    'config',
    'configs',
    'date',
    'higher_is_better',
    'n-samples',
    'n-shot',
    'results',
    'truncation',
    'versions',
  ]);
  assert.deepEqual((out.results as Record<string, unknown>).mmlu_global_facts, {
    alias: 'mmlu_global_facts',
    'acc,none': 0.5,
    'acc_stderr,none': 0.5,
  });
  assert.deepEqual(out.versions, { mmlu_global_facts: '1.0' });
  assert.deepEqual(out['n-samples'], { mmlu_global_facts: { original: 100, effective: 2 } });
  assert.deepEqual(out['n-shot'], { mmlu_global_facts: 0 });
  assert.deepEqual(out.higher_is_better, { mmlu_global_facts: { acc: true } });
  assert.deepEqual(out.truncation, { mmlu_global_facts: { requests: 1, max_tokens_dropped: 7 } });
  assert.deepEqual(out.config, {
    model: '/m',
    adapter: null,
    profile: 'lm-eval',
    limit: 2,
    batch_size: 64,
    device: 'cpu',
    bos: null,
    max_length: 128,
  });
  assert.equal(out.date, 1700000000);
  assert.equal((out.configs as Record<string, Record<string, unknown>>).mmlu_global_facts.target_delimiter, ' ');
});

test('versions of every built-in task; article profile adds 0.3 keys', () => {
  const names = ['truthfulqa_mc1', 'blimp_causative', 'arithmetic_2ds', 'mmlu_global_facts'];
  const tasks = names.map((n) =>
    scores(
      n,
      [
        [-1, -2],
        [-3, -1],
      ],
      [0, 0],
    ),
  );
  const out = buildResults(tasks, { ...info, profile: 'article' });
  assert.deepEqual(out.versions, { truthfulqa_mc1: '2.0', blimp_causative: '1.0', arithmetic_2ds: '2.0', mmlu_global_facts: '1.0' });
  assert.equal(builtinTask('truthfulqa_mc2').version, '3.0');
  const legacy = out['results_0.3'] as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(legacy).sort(), ['arithmetic_2ds', 'blimp_causative', 'hendrycksTest-global_facts', 'truthfulqa_mc']);
  assert.deepEqual(Object.keys(legacy.truthfulqa_mc), ['mc1', 'mc1_stderr']);
  assert.deepEqual(Object.keys(legacy['hendrycksTest-global_facts']), ['acc', 'acc_stderr', 'acc_norm', 'acc_norm_stderr']);
});

test('samples lines carry doc_id, arguments, resps [sum_logprob, is_greedy] and the metric; stamp has no colons', () => {
  const t = scores('mmlu_global_facts', [[-1, -2, -3, -4]], [0]);
  const line = JSON.parse(sampleLines(t)[0]) as Record<string, unknown>;
  assert.equal(line.doc_id, 0);
  assert.deepEqual((line.arguments as Record<string, unknown>).gen_args_1, { arg_0: 'c0', arg_1: ' x1' });
  assert.deepEqual(line.resps, [
    [-1, false],
    [-2, false],
    [-3, false],
    [-4, false],
  ]);
  assert.equal(line.acc, 1);
  assert.equal(resultsStamp(new Date('2026-12-06T13:05:07.123Z')), '2026-12-06T13-05-07.123');
});
