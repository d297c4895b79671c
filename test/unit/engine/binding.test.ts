// The N-API Engine class as the trainer uses it: async load, logprobs, streamed generate, step,
// memory by category, one call at a time (E_BUSY), abort, dispose twice, typed errors with codes,
// and every engine option required (a missing one is a TypeError naming it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAddon, type EngineBatch, type EngineOptions, type NativeError } from '../../../native/trainer/addon';
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-binding-'));
const checkpoint = makeTinyCheckpoint(join(dir, 'tiny'), {
  vocabSize: 64,
  hiddenSize: 16,
  intermediateSize: 32,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Options from the schema's defaults and `values` (dotted config keys), on 1 CPU thread. */
function options(values: Record<string, unknown>, training = false, totalSteps = 10): EngineOptions {
  return engineOptions(configWith({ device: 'cpu', ...values }), totalSteps, training, undefined, 1);
}

function batch(rows: number, seqLen: number, seed = 1): EngineBatch {
  const tokens = new Int32Array(rows * seqLen);
  const targets = new Int32Array(rows * seqLen);
  for (let i = 0; i < tokens.length; i++) {
    tokens[i] = (i * 7 + seed) % 64;
    targets[i] = (i * 11 + seed) % 64;
  }
  return { rows, seqLen, tokens, targets };
}

test('logprobs are per-token log-probabilities (<= 0, masked targets give 0)', async () => {
  const engine = await loadAddon().loadEngine(checkpoint, options({ 'model.precision': '32-true', 'train.method': 'lora' }));
  const b = batch(2, 5);
  b.targets[3] = -100;
  const lp = await engine.logprobs(b);
  assert.ok(lp instanceof Float32Array);
  assert.equal(lp.length, 10);
  assert.ok(lp[3] === 0, `masked position: ${lp[3]}`);
  for (let i = 0; i < lp.length; i++) if (i !== 3) assert.ok(lp[i] < 0 && lp[i] > -20, `${lp[i]}`);
  const logits = await engine.logits(b);
  assert.equal(logits.length, 2 * 5 * 64);
  // log p(target) from the full logits equals logprobs
  const row = logits.subarray(0, 64);
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  assert.ok(Math.abs(row[b.targets[0]] - lse - lp[0]) < 1e-5);
  engine.dispose();
  engine.dispose();
  await assert.rejects(engine.logprobs(b), (e: NativeError) => e.code === 'E_DISPOSED');
});

test('generate streams every token through the callback and returns them', async () => {
  const engine = await loadAddon().loadEngine(checkpoint, options({ 'model.precision': '32-true', 'train.method': 'full' }));
  const streamed: number[] = [];
  const ids = await engine.generate(Int32Array.from([1, 5, 9]), { maxNewTokens: 6, temperature: 0 }, (id) => streamed.push(id));
  assert.equal(ids.length, 6);
  assert.deepEqual(streamed, [...ids]);
  const again = await engine.generate(Int32Array.from([1, 5, 9]), { maxNewTokens: 6, temperature: 0 });
  assert.deepEqual([...again], [...ids], 'greedy is deterministic');
  engine.dispose();
});

test('one call at a time: a concurrent step and a dispose during a step are refused with E_BUSY', async () => {
  const engine = await loadAddon().loadEngine(
    checkpoint,
    options({ 'model.precision': '32-true', 'train.method': 'lora', 'lora.r': 4, 'lora.alpha': 8, 'train.warmup_steps': 0 }, true),
  );
  const first = engine.step([batch(2, 8), batch(2, 8, 3)]);
  await assert.rejects(engine.step([batch(1, 4)]), (e: NativeError) => e.code === 'E_BUSY');
  assert.throws(
    () => engine.dispose(),
    (e: NativeError) => e.code === 'E_BUSY',
  );
  const result = await first;
  assert.ok(result.loss > 0 && result.tokens === 32 && result.step === 1 && result.gradNorm > 0);
  const memory = engine.memory();
  assert.ok(memory.peak.lora_params > 0 && memory.peak.weights > 0 && memory.peakTotal >= memory.currentTotal);
  assert.equal(engine.stepsDone(), 1);
  engine.dispose();
});

test('bad input becomes a typed error naming the field', async () => {
  await assert.rejects(
    loadAddon().loadEngine(join(dir, 'missing'), options({})),
    (e: NativeError) => typeof e.code === 'string' && /missing/.test(e.message),
  );
  await assert.rejects(
    loadAddon().loadEngine(checkpoint, { ...options({}), optimizer: 'adam' as never }),
    (e: NativeError) => e.code === 'E_INVALID_ARGUMENT' && /optimizer/.test(e.message),
  );
  const engine = await loadAddon().loadEngine(checkpoint, options({ 'model.precision': '32-true' }, true));
  await assert.rejects(
    engine.step([{ rows: 2, seqLen: 4, tokens: new Int32Array(3), targets: new Int32Array(8) }]),
    (e: NativeError) => e.code === 'E_INVALID_ARGUMENT' && /tokens/.test(e.message),
  );
  engine.dispose();
});

test('every engine option is required: leaving one out is a TypeError naming it, not a C++ value', async () => {
  const complete = options({}, true);
  const fields: Array<[string, EngineOptions]> = [];
  for (const key of Object.keys(complete) as Array<keyof EngineOptions>) {
    const { [key]: _left, ...rest } = complete;
    fields.push([key, rest as EngineOptions]);
  }
  for (const target of Object.keys(complete.targets) as Array<keyof EngineOptions['targets']>) {
    const { [target]: _left, ...targets } = complete.targets;
    fields.push([`targets.${target}`, { ...complete, targets: targets as EngineOptions['targets'] }]);
  }
  assert.equal(fields.length, 26 + 6, 'every field of EngineOptions and of its targets');
  for (const [field, incomplete] of fields) {
    await assert.rejects(loadAddon().loadEngine(checkpoint, incomplete), (e: NativeError) => {
      assert.ok(e instanceof TypeError, `${field}: ${e.constructor.name}: ${e.message}`);
      assert.equal(e.code, 'E_INVALID_ARGUMENT');
      assert.match(e.message, new RegExp(`for ${field.replace('.', '\\.')} but received undefined`));
      return true;
    });
  }
  await assert.rejects(
    loadAddon().loadEngine(checkpoint, undefined as never),
    (e: NativeError) => e instanceof TypeError && /options object/.test(e.message),
  );
  const engine = await loadAddon().loadEngine(checkpoint, complete);
  engine.dispose();
});
