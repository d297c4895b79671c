// Engine.setAdapterEnabled, the switch the chat's side-by-side mode uses: one engine with the adapter
// switched on gives exactly the logits of a fresh load with the adapter, switched off exactly the
// base model's, and switching back and forth changes nothing; training refuses while it is off.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadAddon, type EngineBatch, type EngineOptions, type NativeError } from '../../../native/trainer/addon';
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-adapter-switch-'));
const checkpoint = makeTinyCheckpoint(join(dir, 'tiny'), {
  vocabSize: 64,
  hiddenSize: 16,
  intermediateSize: 32,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
});
const adapterDir = join(dir, 'adapter');
after(() => rmSync(dir, { recursive: true, force: true }));

const LORA = {
  'model.precision': '32-true',
  'train.method': 'lora',
  'lora.r': 4,
  'lora.alpha': 8,
  'lora.mlp': true,
  'lora.head': true,
  'train.warmup_steps': 0,
  'train.learning_rate': 0.05,
};

function options(values: Record<string, unknown>, training = false): EngineOptions {
  return engineOptions(configWith({ device: 'cpu', ...values }), 10, training, undefined, 1);
}

function batch(seed = 1): EngineBatch {
  const rows = 2,
    seqLen = 6;
  const tokens = new Int32Array(rows * seqLen);
  const targets = new Int32Array(rows * seqLen);
  for (let i = 0; i < tokens.length; i++) {
    tokens[i] = (i * 7 + seed) % 64;
    targets[i] = (i * 11 + seed) % 64;
  }
  return { rows, seqLen, tokens, targets };
}

before(async () => {
  // A trained adapter (a few steps at a high learning rate, so B is far from zero on every target).
  const trainer = await loadAddon().loadEngine(checkpoint, options(LORA, true));
  for (let i = 0; i < 3; i++) await trainer.step([batch(i + 1)]);
  await trainer.saveAdapter(adapterDir, checkpoint);
  trainer.dispose();
});

test('adapter switched on equals a fresh load with the adapter; switched off equals the base model (logits identical)', async () => {
  const b = batch(5);
  const fresh = await loadAddon().loadEngine(checkpoint, options(LORA));
  await fresh.loadAdapter(adapterDir);
  const withAdapter = await fresh.logits(b);
  fresh.dispose();
  const base = await loadAddon().loadEngine(checkpoint, options({ 'model.precision': '32-true', 'train.method': 'full' }));
  const baseLogits = await base.logits(b);
  const baseIds = await base.generate(Int32Array.from([1, 5, 9]), { maxNewTokens: 8, temperature: 0 });
  base.dispose();
  assert.notDeepEqual(withAdapter, baseLogits, 'the adapter changes the logits (else the test proves nothing)');

  const engine = await loadAddon().loadEngine(checkpoint, options(LORA));
  await engine.loadAdapter(adapterDir);
  assert.deepEqual(await engine.logits(b), withAdapter);
  engine.setAdapterEnabled(false);
  assert.deepEqual(await engine.logits(b), baseLogits, 'off: the base model');
  assert.deepEqual(
    [...(await engine.generate(Int32Array.from([1, 5, 9]), { maxNewTokens: 8, temperature: 0 }))],
    [...baseIds],
    'off: greedy generation of the base model (KV-cache path)',
  );
  engine.setAdapterEnabled(true);
  assert.deepEqual(await engine.logits(b), withAdapter, 'on again: the fresh load with the adapter');
  engine.setAdapterEnabled(false);
  engine.setAdapterEnabled(true);
  assert.deepEqual(await engine.logits(b), withAdapter);
  engine.dispose();
});

test('setAdapterEnabled: a boolean only, LoRA mode only, not during a call; step refuses while the adapter is off', async () => {
  const full = await loadAddon().loadEngine(checkpoint, options({ 'model.precision': '32-true', 'train.method': 'full' }));
  assert.throws(
    () => full.setAdapterEnabled(false),
    (e: NativeError) => e.code === 'E_METHOD' && /full finetuning/.test(e.message),
  );
  full.dispose();
  const engine = await loadAddon().loadEngine(checkpoint, options(LORA, true));
  assert.throws(
    () => engine.setAdapterEnabled('no' as never),
    (e: NativeError) => e.code === 'E_INVALID_ARGUMENT' && /boolean/.test(e.message),
  );
  const inFlight = engine.step([batch()]);
  assert.throws(
    () => engine.setAdapterEnabled(false),
    (e: NativeError) => e.code === 'E_BUSY',
  );
  await inFlight;
  engine.setAdapterEnabled(false);
  await assert.rejects(
    engine.step([batch()]),
    (e: NativeError) => e.code === 'E_ADAPTER_DISABLED' && /setAdapterEnabled\(true\)/.test(e.message),
  );
  engine.setAdapterEnabled(true);
  assert.equal((await engine.step([batch()])).step, 2);
  engine.dispose();
  assert.throws(
    () => engine.setAdapterEnabled(true),
    (e: NativeError) => e.code === 'E_DISPOSED',
  );
});
