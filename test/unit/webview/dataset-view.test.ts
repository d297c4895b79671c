// The dataset panel's pure views: histogram bars and range (the max_seq_length line inside), the
// summary numbers, a sample's masking view, the rejected-row list, and the panel's message guards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatasetReport, DatasetSample } from '../../../native/trainer/protocol';
import { histogramView, rejectedRows, sampleCounts, sampleTokens, summaryNumbers } from '../../../webview/src/dataset/view-model';
import { isDatasetHostMessage, isDatasetWebviewMessage, parseDatasetState } from '../../../webview/src/protocol';

const bins = [
  { from: 41, to: 46, count: 108 },
  { from: 46, to: 51, count: 80 },
  { from: 51, to: 56, count: 0 },
  { from: 56, to: 61, count: 141 },
];

test('histogram: one bar per inspect-data bin at its centre, inclusive labels, the x range holds max_seq_length', () => {
  const view = histogramView(bins, 256);
  assert.deepEqual(view.x, [43.5, 48.5, 53.5, 58.5]);
  assert.deepEqual(view.counts, [108, 80, 0, 141], "empty bins stay (the bins are the CLI's, not re-binned)");
  assert.equal(view.width, 5);
  assert.deepEqual(view.labels, ['41–45', '46–50', '51–55', '56–60']);
  assert.equal(view.min, 41);
  assert.ok(view.max >= 256, 'max_seq_length beyond the longest example is still on the axis');
  const truncating = histogramView(
    [
      { from: 10, to: 20, count: 3 },
      { from: 20, to: 30, count: 9 },
    ],
    24,
  );
  assert.equal(truncating.max, 30, 'a limit inside the bins does not widen the axis');
  assert.deepEqual(histogramView([{ from: 7, to: 8, count: 2 }], 512).labels, ['7'], 'a one-token bin is labelled by its length');
  assert.deepEqual(histogramView([], 64).x, []);
});

function sample(overrides: Partial<DatasetSample> = {}): DatasetSample {
  return {
    record: 4,
    line: 23,
    split: 'train',
    pieces: ['<s>', 'Below', ' is', '\n', 'Hi', '</s>'],
    ids: [1, 13866, 338, 13, 6324, 2],
    maskedTokens: 4,
    promptTokens: 4,
    truncated: false,
    ...overrides,
  };
}

test('masking view: the first maskedTokens are masked, the prompt is marked, hover titles name position and id', () => {
  const tokens = sampleTokens(sample());
  assert.deepEqual(
    tokens.map((t) => t.masked),
    [true, true, true, true, false, false],
  );
  assert.deepEqual(
    tokens.map((t) => t.prompt),
    [true, true, true, true, false, false],
  );
  assert.equal(tokens.map((t) => t.text).join(''), '<s>Below is\nHi</s>', 'the pieces joined are the rendered example');
  assert.equal(tokens[2].title, 'token 2 · id 338 · " is" · masked (no loss)');
  assert.equal(tokens[4].title, 'token 4 · id 6324 · "Hi"');
  const unmasked = sampleTokens(sample({ maskedTokens: 0 }));
  assert.ok(
    unmasked.every((t) => !t.masked),
    'mask_prompt off: nothing masked',
  );
  assert.ok(unmasked[1].prompt, 'the prompt is still marked');
  assert.deepEqual(sampleCounts(sample()), { tokens: 6, masked: 4, trained: 2 });
  assert.deepEqual(
    sampleCounts(sample({ maskedTokens: 9 })),
    { tokens: 6, masked: 6, trained: 0 },
    'a prompt filling max_seq_length trains nothing',
  );
});

test('rejected rows: file and line order, a link text file:line, the reason with record and field', () => {
  const rows = rejectedRows([
    { severity: 'error', file: '/ws/data/b.jsonl', line: 3, record: 2, field: 'output', message: "the required field 'output' is missing" },
    { severity: 'error', file: '/ws/data/b.jsonl', line: 2, record: 1, message: 'malformed JSON line: Unexpected end of JSON input' },
    { severity: 'error', file: 'C:\\ws\\a.csv', line: 1, message: 'the header row lacks the column(s) output' },
  ]);
  assert.deepEqual(
    rows.map((r) => r.location),
    ['b.jsonl:2', 'b.jsonl:3', 'a.csv:1'],
    'by file path, then line; a Windows path is named by its base name',
  );
  const byLine = rows.filter((r) => r.file === '/ws/data/b.jsonl');
  assert.deepEqual(
    byLine.map((r) => r.line),
    [2, 3],
  );
  assert.equal(byLine[0].why, 'malformed JSON line: Unexpected end of JSON input (record 2)');
  assert.equal(byLine[1].why, "the required field 'output' is missing (record 3, field 'output')");
  assert.equal(rows.find((r) => r.location === 'a.csv:1')?.why, 'the header row lacks the column(s) output');
  assert.deepEqual(rejectedRows([]), []);
});

test('summary numbers carry the exact values (data-value) of counts, truncation and shares', () => {
  const report = {
    config: '/ws/c.lora.yaml',
    dataset: { file: '/ws/d.json', format: 'alpaca', records: 1500, train: 1443, validation: 57 },
    tokenizer: { checkpoint: '/ws/ck', vocabSize: 32000, bos: '<s>', eos: '</s>' },
    promptStyle: 'alpaca',
    maskPrompt: true,
    maxSeqLength: 64,
    stats: {
      examples: 1500,
      totalTokens: 90000,
      lengths: { min: 41, max: 64, mean: 60, median: 66, p90: 70, p99: 80 },
      histogram: bins,
      truncated: 30,
      truncatedShare: 0.02,
      maskedTokens: 80000,
      maskedShare: 0.888,
      prefixViolations: 0,
      emptyTargets: 0,
    },
    promptShare: 0.888,
    rejected: [{ severity: 'error', file: '/ws/d.json', line: 7, message: 'x' }],
    warnings: [],
    samples: [],
  } satisfies DatasetReport;
  const byKey = new Map(summaryNumbers(report).map((n) => [n.key, n]));
  assert.equal(byKey.get('records')?.value, 1500);
  assert.equal(byKey.get('records')?.text, '1,500');
  assert.equal(byKey.get('train')?.value, 1443);
  assert.equal(byKey.get('validation')?.value, 57);
  assert.equal(byKey.get('rejected')?.value, 1);
  assert.equal(byKey.get('truncated')?.text, '30 (2.0%)');
  assert.equal(byKey.get('truncated')?.label, 'truncated at 64');
  assert.equal(byKey.get('prompt-share')?.label, 'prompt tokens (masked)');
  assert.ok(Math.abs((byKey.get('response-share')?.value ?? 0) - 0.112) < 1e-9);
});

test('dataset protocol: the host accepts only well-formed page messages; the saved state falls back to sample 0', () => {
  assert.ok(isDatasetWebviewMessage({ type: 'ready' }));
  assert.ok(isDatasetWebviewMessage({ type: 'refresh' }));
  assert.ok(isDatasetWebviewMessage({ type: 'open-location', file: '/ws/d.jsonl', line: 4 }));
  assert.ok(!isDatasetWebviewMessage({ type: 'open-location', file: '/ws/d.jsonl', line: 0 }), 'lines are 1-based');
  assert.ok(!isDatasetWebviewMessage({ type: 'open-location', file: 3, line: 4 }));
  assert.ok(!isDatasetWebviewMessage({ type: 'action', action: 'stop' }), 'a dashboard message is not a dataset message');
  assert.ok(isDatasetHostMessage({ type: 'dataset-progress', configPath: '/c', phase: 'tokenizing', done: 1, total: 2 }));
  assert.ok(!isDatasetHostMessage({ type: 'dataset-report', report: {} }), 'a report without stats');
  assert.deepEqual(parseDatasetState({ configPath: '/ws/c.lora.yaml', sample: -1 }), { configPath: '/ws/c.lora.yaml', sample: 0 });
  assert.deepEqual(parseDatasetState({ configPath: '/ws/c.lora.yaml', sample: 3 }), { configPath: '/ws/c.lora.yaml', sample: 3 });
  assert.equal(parseDatasetState({ sample: 3 }), undefined);
});
