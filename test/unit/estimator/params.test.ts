// Estimator parameter counts: the article's Llama-2-7B numbers exactly, and equality with the engine's
// own paramCounts() on tiny checkpoints (MHA, GQA, tied heads; LoRA on every target set; full mode).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { countParams, LLAMA2_7B_CONFIG, ModelShapeError, readModelShape, type LoraTargets } from '../../../language-server/src/estimator';
import { loadAddon } from '../../../native/trainer/addon';
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import { makeTinyCheckpoint, type TinyModelShape } from '../helpers/tiny-checkpoint';

const targets = (...names: Array<keyof LoraTargets>): LoraTargets => ({
  query: names.includes('query'),
  key: names.includes('key'),
  value: names.includes('value'),
  projection: names.includes('projection'),
  mlp: names.includes('mlp'),
  head: names.includes('head'),
});
const ALL = targets('query', 'key', 'value', 'projection', 'mlp', 'head');
const QV = targets('query', 'value');

test("Llama-2-7B: the article's counts exactly", () => {
  const shape = readModelShape(LLAMA2_7B_CONFIG);
  assert.equal(countParams(shape, 'lora', 8, QV).base, 6_738_415_616);
  assert.equal(countParams(shape, 'lora', 8, QV).trainable, 4_194_304);
  assert.equal(countParams(shape, 'lora', 8, ALL).trainable, 20_277_248);
  assert.equal(countParams(shape, 'lora', 16, ALL).trainable, 40_554_496);
  assert.equal(countParams(shape, 'lora', 256, ALL).trainable, 648_871_936);
  // the engine's total counts the adapter too; full mode trains the whole base model
  assert.equal(countParams(shape, 'lora', 8, QV).total, 6_738_415_616 + 4_194_304);
  const full = countParams(shape, 'full', 8, QV);
  assert.deepEqual([full.total, full.trainable], [6_738_415_616, 6_738_415_616]);
});

test('config.json the engine refuses is refused with its reason', () => {
  assert.throws(() => readModelShape({ ...LLAMA2_7B_CONFIG, attention_bias: true }), ModelShapeError);
  assert.throws(() => readModelShape({ ...LLAMA2_7B_CONFIG, mlp_bias: true }), /mlp_bias/);
  assert.throws(() => readModelShape({ ...LLAMA2_7B_CONFIG, architectures: ['GPT2LMHeadModel'] }), /GPT2LMHeadModel/);
  assert.throws(() => readModelShape({ ...LLAMA2_7B_CONFIG, num_key_value_heads: 5 }), /must divide/);
  const qwen = readModelShape({ ...LLAMA2_7B_CONFIG, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', num_key_value_heads: 8 });
  // q/k/v biases: 4096 + 2 * 1024 per layer on top of the GQA weights
  const gqaBase = countParams(readModelShape({ ...LLAMA2_7B_CONFIG, num_key_value_heads: 8 }), 'full', 8, QV).base;
  assert.equal(countParams(qwen, 'full', 8, QV).base - gqaBase, 32 * (4096 + 2 * 1024));
});

const dir = mkdtempSync(join(tmpdir(), 'loralab-estimator-params-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MODELS: Record<string, TinyModelShape> = {
  mha: { vocabSize: 96, hiddenSize: 32, intermediateSize: 72, numLayers: 2, numHeads: 4, numKvHeads: 4 },
  gqa: { vocabSize: 80, hiddenSize: 48, intermediateSize: 64, numLayers: 3, numHeads: 6, numKvHeads: 2 },
  tied: { vocabSize: 64, hiddenSize: 32, intermediateSize: 40, numLayers: 2, numHeads: 4, numKvHeads: 1, tied: true },
};
const CASES: Array<{ method: 'lora' | 'full'; r: number; targets: LoraTargets }> = [
  { method: 'lora', r: 8, targets: QV },
  { method: 'lora', r: 4, targets: ALL },
  { method: 'lora', r: 2, targets: targets('key', 'projection', 'head') },
  { method: 'lora', r: 16, targets: targets('mlp') },
  { method: 'full', r: 8, targets: QV },
];

test('parameter counts equal the engine paramCounts() on MHA, GQA and tied checkpoints', async () => {
  const addon = loadAddon();
  for (const [name, tiny] of Object.entries(MODELS)) {
    const folder = makeTinyCheckpoint(join(dir, name), tiny);
    const shape = readModelShape(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')));
    for (const c of CASES) {
      const loraTargets = Object.fromEntries(Object.entries(c.targets).map(([target, on]) => [`lora.${target}`, on]));
      const config = configWith({ 'train.method': c.method, 'lora.r': c.r, 'lora.alpha': 2 * c.r, ...loraTargets, device: 'cpu' });
      const engine = await addon.loadEngine(folder, engineOptions(config, 1, false, undefined, 1));
      try {
        const predicted = countParams(shape, c.method, c.r, c.targets);
        const actual = engine.paramCounts();
        const what = `${name} ${c.method} r${c.r} ${JSON.stringify(c.targets)}`;
        assert.equal(predicted.total, actual.total, what);
        assert.equal(predicted.trainable, actual.trainable, what);
        assert.deepEqual(predicted.trainableByTarget, actual.trainableByTarget, what);
      } finally {
        engine.dispose();
      }
    }
  }
});
