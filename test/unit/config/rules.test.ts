// The rules of CONFIG.md with their severities, including the file-system checks via a memory FS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../language-server/src/config/parse';
import { memoryFileSystem } from './memory-fs';

const file = '/p/run.lora.yaml';
const llamaConfig = JSON.stringify({
  hidden_size: 4096,
  intermediate_size: 11008,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  vocab_size: 32000,
});
const tinyConfig = JSON.stringify({
  hidden_size: 64,
  intermediate_size: 48,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 300,
});
const goodFiles = {
  '/p/ck/config.json': llamaConfig,
  '/p/ck/model.safetensors': 'x',
  '/p/ck/tokenizer.json': '{}',
  '/p/data/alpaca.json': '[]',
  '/p/data/eval/truthfulqa_mc.jsonl': '',
  '/p/data/eval/blimp_causative.jsonl': '',
  '/p/data/eval/mmlu_global_facts.jsonl': '',
};
const base = 'model:\n  checkpoint: ck\n';

function codes(text: string, files: Record<string, string> = goodFiles): Array<[string, string, string]> {
  return parseConfig(text, file, memoryFileSystem(files)).problems.map((p) => [p.code, p.severity, p.key]);
}

test('a complete workspace has no problems', () => {
  assert.deepEqual(codes(base), []);
});

test('cross-key rules with their severities', () => {
  assert.deepEqual(codes(`${base}train:\n  global_batch_size: 100\n  micro_batch_size: 8\n`), [
    ['batch-size-multiple', 'error', 'train.global_batch_size'],
  ]);
  assert.deepEqual(codes(`${base}  quantize: bnb.nf4\ndevice: cpu\n`), [['quantize-on-cpu', 'warning', 'model.quantize']]);
  assert.deepEqual(codes(`${base}  quantize: bnb.fp4\ntrain:\n  method: full\n`), [['quantize-with-full', 'error', 'model.quantize']]);
  assert.deepEqual(codes(`${base}  precision: 16-true\ndevice: cpu\n`), [['fp16-on-cpu', 'error', 'model.precision']]);
  assert.deepEqual(codes(`${base}  precision: bf16-mixed\ndevice: cpu\n`), [['bf16-mixed-on-cpu', 'warning', 'model.precision']]);
  assert.deepEqual(codes(`${base}  precision: 16-true\ndevice: cuda\n`), [['precision-on-cuda', 'error', 'model.precision']]);
  assert.deepEqual(codes(`${base}  precision: 16-true\n`), [['precision-on-cuda', 'error', 'model.precision']]);
  assert.deepEqual(codes(`${base}  precision: 32-true\ndevice: cuda:1\n`), [['precision-on-cuda', 'error', 'model.precision']]);
  assert.deepEqual(codes(`${base}  precision: 32-true\n`), []); // auto runs fp32 on the CPU
  assert.deepEqual(codes(`${base}  precision: bf16-mixed\ndevice: cuda\n`), []);
  assert.deepEqual(codes(`${base}train:\n  method: full\n  state_precision: bf16\n`), [
    ['state-precision-with-full', 'error', 'train.state_precision'],
  ]);
  assert.deepEqual(codes(`${base}train:\n  optimizer: adamw8bit\ndevice: cuda\n`), [
    ['optimizer-state-on-cuda', 'error', 'train.optimizer'],
  ]);
  assert.deepEqual(codes(`${base}train:\n  state_precision: bf16\ndevice: cuda:0\n`), [
    ['optimizer-state-on-cuda', 'error', 'train.state_precision'],
  ]);
  assert.deepEqual(codes(`${base}train:\n  optimizer: sgd8bit\n  state_precision: bf16\n`), []); // auto runs them on the CPU
  assert.deepEqual(codes(`${base}lora:\n  query: false\n  value: false\n`), [['no-lora-target', 'error', 'lora']]);
  assert.deepEqual(codes(`${base}lora:\n  query: false\n  value: false\ntrain:\n  method: full\n`), []);
  assert.deepEqual(codes(`${base}train:\n  epochs: 3\n`), [['epochs-over-one', 'hint', 'train.epochs']]);
  const csvAsAlpaca = { ...goodFiles, '/p/data/x.csv': 'instruction,output\n' };
  assert.deepEqual(codes(`${base}data:\n  path: data/x.csv\n`, csvAsAlpaca), [['data-format-mismatch', 'warning', 'data.format']]);
  assert.deepEqual(codes(`${base}data:\n  path: data/x.csv\n  format: csv\n`, csvAsAlpaca), []);
  assert.deepEqual(codes(`${base}train:\n  max_steps: 50\n`), [['warmup-exceeds-steps', 'warning', 'train.warmup_steps']]);
  assert.deepEqual(codes(`${base}train:\n  max_steps: 500\n`), []);
  const alpha = parseConfig(`${base}lora:\n  r: 16\n  alpha: 16\n`, file, memoryFileSystem(goodFiles)).problems;
  assert.deepEqual(
    alpha.map((p) => [p.code, p.severity, p.data]),
    [['alpha-not-2r', 'hint', { replacement: 32 }]],
  );
  assert.deepEqual(alpha[0].range, { start: { line: 4, character: 9 }, end: { line: 4, character: 11 } });
});

test('learning rates that diverge: AdamW above 1e-2, SGD above 1, a warning on the value with a quick-fix value; swept values too', () => {
  const problems = (text: string) => parseConfig(`${base}${text}`, file, memoryFileSystem(goodFiles)).problems;
  const adamw = problems('train:\n  max_steps: 500\n  learning_rate: 500\n');
  assert.deepEqual(
    adamw.map((p) => [p.code, p.severity, p.key, p.data]),
    [['learning-rate-too-high', 'warning', 'train.learning_rate', { replacement: 3e-4 }]],
  );
  assert.deepEqual(adamw[0].range, { start: { line: 4, character: 17 }, end: { line: 4, character: 20 } }, 'on the value, at its line');
  assert.match(adamw[0].message, /^train\.learning_rate 500 is above 0\.01 for AdamW: training is likely to diverge/);
  assert.deepEqual(codes(`${base}train:\n  learning_rate: 1.0e-2\n`), [], '1e-2 itself is allowed');
  assert.deepEqual(codes(`${base}train:\n  learning_rate: 3.0e-3\n`), [], "the examples' 3e-3");
  assert.deepEqual(codes(`${base}train:\n  optimizer: sgd\n  learning_rate: 0.5\n`), [], 'SGD up to 1');
  assert.deepEqual(codes(`${base}train:\n  optimizer: sgd\n  learning_rate: 2\n`), [
    ['learning-rate-too-high', 'warning', 'train.learning_rate'],
  ]);
  const swept = problems('sweep:\n  train.learning_rate: [3.0e-4, 0.5]\n');
  assert.deepEqual(
    swept.map((p) => [p.code, p.key]),
    [['learning-rate-too-high', 'sweep']],
  );
  assert.match(swept[0].message, /^sweep variant 1 \(\{"train\.learning_rate":0\.5\}\): train\.learning_rate 0\.5 is above/);
});

test('checkpoint folder checks: missing, a file, incomplete, pickle-only', () => {
  const without = (name: string): Record<string, string> =>
    Object.fromEntries(Object.entries(goodFiles).filter(([path]) => !path.endsWith(name)));
  assert.deepEqual(codes('model:\n  checkpoint: nope\n'), [['checkpoint-missing', 'error', 'model.checkpoint']]);
  assert.deepEqual(codes('model:\n  checkpoint: ck/config.json\n'), [['checkpoint-not-folder', 'error', 'model.checkpoint']]);
  const incomplete = parseConfig(base, file, memoryFileSystem(without('tokenizer.json'))).problems;
  assert.deepEqual(
    incomplete.map((p) => [p.code, p.severity, p.data]),
    [['checkpoint-weights-missing', 'warning', { missing: ['tokenizer.json'] }]],
  );
  assert.deepEqual(codes(base, without('config.json')), [['checkpoint-incomplete', 'error', 'model.checkpoint']]);
  const pickle = { ...without('model.safetensors'), '/p/ck/pytorch_model.bin': 'x' };
  assert.deepEqual(codes(base, pickle), [['checkpoint-pickle-only', 'error', 'model.checkpoint']]);
  const sharded = {
    ...without('model.safetensors'),
    '/p/ck/model-00001-of-00002.safetensors': 'x',
    '/p/ck/model.safetensors.index.json': '{}',
  };
  assert.deepEqual(codes(base, sharded), []);
});

test('lora.r larger than the smallest adapted dimension, read from config.json', () => {
  const tiny = { ...goodFiles, '/p/ck/config.json': tinyConfig };
  // key/value project 64 -> 2 * 16 = 32; the MLP is 64 x 48
  assert.deepEqual(codes(`${base}lora:\n  r: 32\n  alpha: 64\n  key: true\n`, tiny), []);
  const over = parseConfig(`${base}lora:\n  r: 33\n  alpha: 66\n  key: true\n`, file, memoryFileSystem(tiny)).problems;
  assert.deepEqual(
    over.map((p) => [p.code, p.severity, p.key, p.data]),
    [['rank-exceeds-dimension', 'error', 'lora.r', { max: 32 }]],
  );
  assert.match(over[0].message, /key layers/);
  assert.deepEqual(codes(`${base}lora:\n  r: 40\n  alpha: 80\n  query: false\n  value: false\n  mlp: true\n`, tiny), []);
  assert.deepEqual(
    codes(`${base}lora:\n  r: 49\n  alpha: 98\n  query: false\n  value: false\n  mlp: true\n`, tiny).map((c) => c[0]),
    ['rank-exceeds-dimension'],
  );
  // a sweep is checked at its largest rank
  assert.deepEqual(
    codes(`${base}sweep:\n  lora.r: [8, 64]\n  lora.alpha: ["=2*lora.r"]\n`, tiny).map((c) => c[0]),
    ['rank-exceeds-dimension'],
  );
  assert.deepEqual(
    codes(base, { ...goodFiles, '/p/ck/config.json': '{not json' }).map((c) => c[0]),
    ['checkpoint-config-unreadable'],
  );
});

test('data.path and eval data files', () => {
  const noData = Object.fromEntries(Object.entries(goodFiles).filter(([path]) => path !== '/p/data/alpaca.json'));
  const missing = parseConfig(`${base}data:\n  path: data/alpaca.json\n`, file, memoryFileSystem(noData)).problems;
  assert.deepEqual(
    missing.map((p) => [p.code, p.severity, p.key]),
    [['data-path-missing', 'error', 'data.path']],
  );
  assert.equal(missing[0].range.start.line, 3);
  // The built-in tasks' data ships with LoRA Lab: no eval.data_dir file is needed for any of them.
  const noEval = Object.fromEntries(Object.entries(goodFiles).filter(([path]) => !path.includes('/eval/')));
  assert.deepEqual(
    codes(
      `${base}eval:\n  tasks: [truthfulqa_mc1, truthfulqa_mc2, blimp_causative, mmlu_global_facts, arithmetic_2ds, arithmetic_4ds, arithmetic_2da, arithmetic_4da]\n`,
      noEval,
    ),
    [],
  );
});

test('without a file system no file checks run', () => {
  assert.deepEqual(parseConfig('model:\n  checkpoint: nowhere\n', file).problems, []);
});
