// Estimator parameter counts of the Phi and Falcon families: the real phi-1_5, falcon-7b and
// falcon-40b totals from their config.json alone (derivations below), the sum of the tensor sizes of
// every tiny reference checkpoint, and the engine's own paramCounts() with each family's LoRA targets.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { countParams, ModelShapeError, readModelShape, type LoraTargets } from '../../../language-server/src/estimator';
import { estimateMemory } from '../../../language-server/src/estimator/memory';
import { modelDimensions } from '../../../language-server/src/config';
import { loadAddon } from '../../../native/trainer/addon';
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import { safetensorsHeader } from '../helpers/safetensors-header';

const CONFIGS = join(__dirname, '../../fixtures/model-configs');
const FIXTURES = join(__dirname, '../../reference/fixtures');
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const targets = (...names: Array<keyof LoraTargets>): LoraTargets => ({
  query: names.includes('query'),
  key: names.includes('key'),
  value: names.includes('value'),
  projection: names.includes('projection'),
  mlp: names.includes('mlp'),
  head: names.includes('head'),
});
const ALL = targets('query', 'key', 'value', 'projection', 'mlp', 'head');

test('phi-1_5 from config.json: 1,418,270,720 parameters', () => {
  const shape = readModelShape(readJson(join(CONFIGS, 'phi-1_5.json')));
  // V 51200, C 2048, F 8192, L 24. Per layer: input_layernorm w+b 2C; q/k/v/dense C*C + C each; fc1 F*C + F;
  // fc2 C*F + C. Plus the embedding V*C, final_layernorm 2C and the untied lm_head V*C + V.
  const [V, C, F, L] = [51200, 2048, 8192, 24];
  const perLayer = 2 * C + 4 * (C * C + C) + (F * C + F) + (C * F + C);
  const expected = V * C + L * perLayer + 2 * C + (V * C + V);
  assert.equal(expected, 1_418_270_720);
  assert.equal(countParams(shape, 'full', 8, ALL).base, expected);
});

test('falcon-7b from config.json: 6,921,720,704 parameters', () => {
  const shape = readModelShape(readJson(join(CONFIGS, 'falcon-7b.json')));
  // V 65024, C 4544, 71 heads of 64, multi_query: 1 kv head, F = 4C (no ffn_hidden_size), no biases.
  // Per layer: input_layernorm 2C; query_key_value (71 + 2) * 64 x C; dense C x C; dense_h_to_4h and
  // dense_4h_to_h F x C each. Plus word_embeddings V*C (the head is tied to it) and ln_f 2C.
  const [V, C, L, HD] = [65024, 4544, 32, 64];
  const F = 4 * C;
  const perLayer = 2 * C + (71 + 2) * HD * C + C * C + 2 * F * C;
  const expected = V * C + L * perLayer + 2 * C;
  assert.equal(expected, 6_921_720_704);
  assert.equal(countParams(shape, 'full', 8, ALL).base, expected);
  assert.equal(shape.kvHeads, 1);
});

test('falcon-40b from config.json: 41,303,293,952 parameters', () => {
  const shape = readModelShape(readJson(join(CONFIGS, 'falcon-40b.json')));
  // V 65024, C 8192, 128 heads of 64, new_decoder_architecture: 8 kv heads and ln_attn + ln_mlp, F = 4C.
  // Per layer: 2 LayerNorms 4C; query_key_value (128 + 2 * 8) * 64 x C; dense C x C; the MLP 2 F x C.
  const [V, C, L, HD] = [65024, 8192, 60, 64];
  const F = 4 * C;
  const perLayer = 4 * C + (128 + 2 * 8) * HD * C + C * C + 2 * F * C;
  const expected = V * C + L * perLayer + 2 * C;
  assert.equal(expected, 41_303_293_952);
  assert.equal(countParams(shape, 'full', 8, ALL).base, expected);
  assert.equal(shape.normsPerLayer, 2);
});

test('falcon-40b with the pre-FalconConfig key names (n_layer, n_head, n_embed, n_head_kv): the same model', () => {
  const current = readJson(join(CONFIGS, 'falcon-40b.json')) as Record<string, unknown>;
  const old: Record<string, unknown> = {};
  const names: Record<string, string> = {
    num_hidden_layers: 'n_layer',
    num_attention_heads: 'n_head',
    hidden_size: 'n_embed',
    num_kv_heads: 'n_head_kv',
  };
  for (const [key, value] of Object.entries(current)) old[names[key] ?? key] = value;
  assert.equal(old.num_hidden_layers, undefined);
  const shape = readModelShape(old);
  assert.deepEqual(shape, readModelShape(current));
  assert.equal(countParams(shape, 'full', 8, ALL).base, 41_303_293_952);
  assert.deepEqual(modelDimensions(old), modelDimensions(current), "the config language's adapter shapes too");
  const phi = readJson(join(CONFIGS, 'phi-1_5.json')) as Record<string, unknown>;
  const { num_attention_heads, ...rest } = phi;
  assert.throws(() => readModelShape({ ...rest, n_head: num_attention_heads }), /num_attention_heads/, "Falcon's aliases only");
});

test('LoRA on Falcon: any of query/key/value adapts the fused query_key_value once', () => {
  const shape = readModelShape(readJson(join(CONFIGS, 'falcon-7b.json')));
  const r = 8;
  const qkv = 32 * r * (4544 + 73 * 64);
  for (const t of [targets('query'), targets('key'), targets('value'), targets('query', 'key', 'value')]) {
    const est = countParams(shape, 'lora', r, t);
    assert.equal(est.trainable, qkv, JSON.stringify(t));
    assert.deepEqual(Object.keys(est.trainableByTarget), ['q']);
  }
  // mlp adapts dense_h_to_4h and dense_4h_to_h (no gate on Phi or Falcon)
  assert.equal(countParams(shape, 'lora', r, targets('mlp')).trainable, 2 * 32 * r * (4544 + 4 * 4544));
});

test('refusals: ALiBi, RWForCausalLM, the old Phi layout, qk_layernorm', () => {
  const falcon = readJson(join(CONFIGS, 'falcon-7b.json')) as Record<string, unknown>;
  const phi = readJson(join(CONFIGS, 'phi-1_5.json')) as Record<string, unknown>;
  assert.throws(() => readModelShape({ ...falcon, alibi: true }), /alibi/);
  assert.throws(() => readModelShape({ ...falcon, architectures: ['RWForCausalLM'], model_type: 'RefinedWeb' }), /RWForCausalLM/);
  assert.throws(() => readModelShape({ ...phi, model_type: 'phi-msft', architectures: undefined }), /Wqkv/);
  assert.throws(() => readModelShape({ ...phi, qk_layernorm: true }), ModelShapeError);
});

const FAMILY_FIXTURES = readdirSync(FIXTURES).filter((n) => n.startsWith('phi_') || n.startsWith('falcon_'));

test('every tiny Phi / Falcon checkpoint: the estimate equals the sum of its tensor sizes', () => {
  assert.equal(FAMILY_FIXTURES.length, 5);
  for (const name of FAMILY_FIXTURES) {
    const folder = join(FIXTURES, name);
    let stored = 0;
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.safetensors') && !f.endsWith('golden.safetensors')))
      for (const t of Object.values(safetensorsHeader(join(folder, file)))) stored += t.shape.reduce((a, b) => a * b, 1);
    const shape = readModelShape(readJson(join(folder, 'config.json')));
    assert.equal(countParams(shape, 'full', 4, ALL).base, stored, name);
  }
});

test("the estimate equals the engine's paramCounts() on each Phi / Falcon fixture", async () => {
  const addon = loadAddon();
  const cases: Array<{ method: 'lora' | 'full'; r: number; targets: LoraTargets }> = [
    { method: 'lora', r: 4, targets: ALL },
    { method: 'lora', r: 2, targets: targets('key', 'projection') },
    { method: 'lora', r: 4, targets: targets('mlp', 'head') },
    { method: 'full', r: 4, targets: ALL },
  ];
  for (const name of FAMILY_FIXTURES) {
    const folder = join(FIXTURES, name);
    const shape = readModelShape(readJson(join(folder, 'config.json')));
    for (const c of cases) {
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

test("the memory estimate equals the engine's tracked peak, category by category, on Phi / Falcon (CPU, fp32)", async () => {
  const addon = loadAddon();
  const settings = [
    { 'train.method': 'lora', 'lora.dropout': 0 },
    { 'train.method': 'lora', 'lora.dropout': 0.1, 'lora.mlp': true, 'lora.head': true, 'train.gradient_checkpointing': true },
    { 'train.method': 'full' },
  ] as const;
  for (const name of FAMILY_FIXTURES.filter((n) => n.endsWith('_f32'))) {
    const folder = join(FIXTURES, name);
    const shape = readModelShape(readJson(join(folder, 'config.json')));
    for (const over of settings) {
      const config = configWith({ ...over, 'lora.r': 4, 'lora.alpha': 8, device: 'cpu', 'model.precision': '32-true' });
      const engine = await addon.loadEngine(folder, engineOptions(config, 1, true, undefined, 1));
      const [B, T] = [2, 8];
      const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7) % 80);
      let peak: Record<string, number>;
      try {
        await engine.step([{ rows: B, seqLen: T, tokens, targets: tokens, lengths: new Int32Array(B).fill(T) }]);
        peak = engine.memory().peak as unknown as Record<string, number>;
      } finally {
        engine.dispose();
      }
      const predicted = estimateMemory({
        shape,
        device: 'cpu',
        method: config.train.method,
        precision: '32-true',
        quantize: 'none',
        rank: 4,
        targets: config.lora,
        dropout: config.lora.dropout,
        optimizer: config.train.optimizer,
        statePrecision: config.train.state_precision,
        gradientCheckpointing: config.train.gradient_checkpointing,
        microBatchSize: B,
        rows: T,
      }).bytesByCategory as unknown as Record<string, number>;
      for (const [category, bytes] of Object.entries(predicted)) {
        // full mode: the head chunk's LoRA u slot is sized r = 8 by the estimator (as for Llama), 448 bytes here
        const slack = over['train.method'] === 'full' && category === 'workspace' ? 448 : 0;
        assert.ok(
          Math.abs(bytes - (peak[category] ?? 0)) <= slack,
          `${name} ${JSON.stringify(over)} ${category}: ${bytes} vs ${peak[category]}`,
        );
      }
    }
  }
});
