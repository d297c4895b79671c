// What the host reads from configs through parseConfig: the summary (with the schema's defaults), the queue's device key,
// the number of sweep variants, the base checkpoint of a run; and the example copy plan.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  baseCheckpointOf,
  deviceKey,
  parseConfigText,
  readConfigPlan,
  summarizeConfig,
  sweepVariantCount,
} from '../../../extension/src/config-file';
import { copyExample, planExampleCopy } from '../../../extension/src/examples';
import { keySpec } from '../../../language-server/src/config';

const FILE = '/ws/run.lora.yaml';
const parsed = (text: string) => {
  const result = parseConfigText(text, FILE);
  assert.ok(result, text);
  return result;
};

test('summarizeConfig reads the keys and falls back to the schema defaults', () => {
  const summary = summarizeConfig(
    parsed('lora:\n  r: 256\n  alpha: 512\n  mlp: true\nmodel:\n  quantize: bnb.nf4\ntrain:\n  optimizer: sgd\n  micro_batch_size: 4\n')
      .config,
  );
  assert.deepEqual(summary, {
    method: 'lora',
    precision: keySpec('model.precision')!.default,
    r: 256,
    alpha: 512,
    targets: ['q', 'v', 'mlp'],
    quantize: 'bnb.nf4',
    optimizer: 'sgd',
    learningRate: keySpec('train.learning_rate')!.default,
    globalBatchSize: keySpec('train.global_batch_size')!.default,
    microBatchSize: 4,
  });
  assert.deepEqual(summarizeConfig(parsed('').config).targets, ['q', 'v']);
});

test('the host reads a config as the config library does: invalid values and sweep keys are not counted', () => {
  const config = parsed('lora:\n  r: 0\n  alpha: 16\n');
  assert.equal(summarizeConfig(config.config).r, keySpec('lora.r')!.default, 'r: 0 is refused, as the trainer refuses it');
  // the sweep makes the runs of its valid entries: 2, not 2 x 3 for a key that does not exist
  assert.equal(sweepVariantCount(parsed('sweep:\n  lora.r: [8, 16]\n  lora.bogus: [1, 2, 3]\n')), 2);
});

test('deviceKey and sweepVariantCount', () => {
  assert.equal(deviceKey('cpu'), 'cpu');
  assert.equal(deviceKey('cuda'), 'cuda:0');
  assert.equal(deviceKey('cuda:3'), 'cuda:3');
  assert.equal(deviceKey(undefined), 'auto');
  assert.equal(deviceKey('auto'), 'auto');
  assert.equal(sweepVariantCount(parsed('lora:\n  r: 8\n')), 1);
  assert.equal(
    sweepVariantCount(parsed('sweep:\n  lora.r: [8, 16, 32]\n  lora.alpha: ["=2*lora.r"]\n  model.quantize: [none, bnb.nf4]\n')),
    6,
  );
  assert.equal(parseConfigText('a: [1, 2', FILE), undefined);
});

test('readConfigPlan and baseCheckpointOf read files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-cfg-'));
  const config = path.join(dir, 'tiny.lora.yaml');
  fs.writeFileSync(config, 'device: cpu\nsweep:\n  lora.r: [4, 8]\n');
  assert.deepEqual(readConfigPlan(config), { device: 'cpu', variants: 2, name: 'tiny' });
  const run = path.join(dir, 'out', 'tiny-1');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, 'config.yaml'), 'model:\n  checkpoint: tiny-llama\n');
  assert.equal(baseCheckpointOf(run, config), path.join(dir, 'tiny-llama'));
  fs.writeFileSync(path.join(run, 'config.yaml'), 'model:\n  checkpoint: /abs/model\n');
  assert.equal(baseCheckpointOf(run, config), '/abs/model');
  assert.equal(baseCheckpointOf(path.join(dir, 'none'), config), undefined);
});

test('the example copy: configs, tiny model and data; existing files kept; a missing model refused', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-ex-'));
  const examples = path.join(root, 'examples');
  const target = path.join(root, 'ws');
  fs.mkdirSync(path.join(examples, 'data'), { recursive: true });
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(examples, 'tiny.lora.yaml'), 'name: tiny\n');
  fs.writeFileSync(path.join(examples, 'data', 'alpaca.json'), '[]');
  assert.throws(() => planExampleCopy(examples, target), /bundled tiny model is missing/);
  fs.mkdirSync(path.join(examples, 'tiny-llama'));
  fs.writeFileSync(path.join(examples, 'tiny-llama', 'config.json'), '{}');
  fs.writeFileSync(path.join(target, 'tiny.lora.yaml'), 'name: mine\n');
  const plan = planExampleCopy(examples, target);
  assert.deepEqual(
    plan.copies.map(([, d]) => path.basename(d)),
    ['tiny-llama', 'data'],
  );
  assert.deepEqual(plan.existing, [path.join(target, 'tiny.lora.yaml')]);
  copyExample(plan);
  assert.equal(fs.readFileSync(path.join(target, 'tiny.lora.yaml'), 'utf8'), 'name: mine\n');
  assert.ok(fs.existsSync(path.join(target, 'tiny-llama', 'config.json')));
  assert.ok(fs.existsSync(path.join(target, 'data', 'alpaca.json')));
  assert.throws(() => planExampleCopy(path.join(root, 'nope'), target), /no examples folder/);
});
