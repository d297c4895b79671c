// The time model's terms without the engine: how each kind of work scales with the config (step-work.ts),
// that the estimate is the work priced at the calibration's costs, the costs' fit, and the calibration
// cache: round trip, a file no estimate can use (named in the error), and calibrate replacing it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../../language-server/src/config/resolve';
import {
  estimate,
  estimateConfig,
  fitWorkCosts,
  readModelShape,
  stepWork,
  timeInputs,
  WORK_TERMS,
  workSeconds,
  type StepWork,
  type WorkCosts,
} from '../../../language-server/src/estimator';
import { weightTouches } from '../../../language-server/src/estimator/step-work';
import { CalibrationFileError, newestCalibration, type CalibrationRecord } from '../../../language-server/src/lib/calibration-file';
import { analyzeConfig, codeLenses } from '../../../language-server/src/service';
import { runsFor } from '../../../native/trainer/commands/calibrate';
import { workspace } from '../language-server/memory-workspace';
import { writeCalibrationRecord } from '../../../native/trainer/estimator-io';

const MODEL = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 768,
  intermediate_size: 2048,
  num_hidden_layers: 4,
  num_attention_heads: 12,
  num_key_value_heads: 4,
  vocab_size: 8192,
};
const shape = readModelShape(MODEL);
const config = (sets: Record<string, unknown> = {}) =>
  resolveConfig(
    new Map(
      Object.entries({ 'data.max_seq_length': 65, 'lora.dropout': 0, 'train.micro_batch_size': 1, 'train.global_batch_size': 1, ...sets }),
    ),
    '/tmp/x.lora.yaml',
  );
/** One step's work of a config at `rows` token rows per example. */
const work = (sets: Record<string, unknown> = {}, rows = 64): StepWork => stepWork(timeInputs(config(sets), shape, rows, 1));

test('weight touches: packed once per call up to 4 x 96 rows, a shared fp32 copy streamed per 96 rows from 192', () => {
  assert.deepEqual(weightTouches(64, 768 * 2048, 'nt', 'bf16'), { passes: 1, streams: 0 });
  assert.deepEqual(weightTouches(256, 768 * 2048, 'nt', 'bf16'), { passes: 1, streams: 3 });
  // the head (8192 x 768 > 4M values) is packed by every row block once the rows exceed 384
  assert.deepEqual(weightTouches(512, 8192 * 768, 'nt', 'bf16'), { passes: 6, streams: 0 });
  assert.deepEqual(weightTouches(256, 8192 * 768, 'nn', 'bf16'), { passes: 1, streams: 0 });
  assert.deepEqual(weightTouches(64, 768 * 768, 'nn', 'f32'), { passes: 0, streams: 1 }, 'fp32 input gradients read in place');
  assert.deepEqual(weightTouches(1024, 768 * 2048, 'nt', 'q4'), { passes: 1, streams: 0 }, '4-bit: one dequantization per call');
});

test('per token: GEMM, LoRA, attention FLOPs and elementwise values double with the micro-batch; weight passes do not', () => {
  const one = work({ 'train.micro_batch_size': 1, 'train.global_batch_size': 1 }, 32);
  const two = work({ 'train.micro_batch_size': 2, 'train.global_batch_size': 2 }, 32);
  for (const t of ['denseGemmFlops', 'loraFlops', 'attentionFlops', 'activationValues'] as const) assert.equal(two[t], 2 * one[t], t);
  assert.equal(two.bf16WeightPass, one.bf16WeightPass, 'both under 192 rows: each weight packed once per GEMM');
  assert.equal(two.layerPasses, one.layerPasses);
  assert.equal(two.stateBytes, one.stateBytes, 'the trainable state does not depend on tokens');
  // attention per token grows with the rows each token attends to: (T + 1) / 2 keys
  const long = work({}, 128);
  assert.equal(long.attentionFlops / 128, (one.attentionFlops / 32) * (129 / 33));
});

test('per micro-batch and per step: gradient accumulation repeats the passes, the optimizer update runs once', () => {
  const one = work({ 'train.micro_batch_size': 1, 'train.global_batch_size': 1 });
  const four = work({ 'train.micro_batch_size': 1, 'train.global_batch_size': 4 });
  for (const t of ['denseGemmFlops', 'bf16WeightPass', 'layerPasses', 'activationValues'] as const) assert.equal(four[t], 4 * one[t], t);
  // state bytes: 2 masters + 3 gradient + 2 moment passes per step, and 2 gradient passes per micro-batch
  const params = 4 * 8 * (768 + 768) + 4 * 8 * (768 + 256); // q and v adapters, r = 8
  assert.equal(one.stateBytes, params * 4 * (2 + 3 + 2 + 2 * 2));
  assert.equal(four.stateBytes - one.stateBytes, params * 4 * 2 * 3);
});

test('per trainable parameter: state bytes scale with the rank; SGD moves one moment, bf16 state half the bytes', () => {
  const r8 = work();
  assert.equal(work({ 'lora.r': 16 }).stateBytes, 2 * r8.stateBytes);
  const params = 4 * 8 * (768 + 768) + 4 * 8 * (768 + 256);
  assert.equal(work({ 'train.optimizer': 'sgd' }).stateBytes, params * 4 * (2 + 3 + 2 + 2 * 1));
  assert.equal(work({ 'train.state_precision': 'bf16' }).stateBytes, r8.stateBytes / 2);
  const full = work({ 'train.method': 'full', 'model.precision': '32-true' });
  assert.ok(full.stateBytes > 100 * r8.stateBytes, 'full: every weight is trainable state');
});

test('per weight pass: the storage decides the cost (bf16 widened, fp32 packed, 4-bit dequantized)', () => {
  const bf16 = work();
  const fp32 = work({ 'model.precision': '32-true' });
  const nf4 = work({ 'model.quantize': 'bnb.nf4' });
  assert.equal(fp32.bf16WeightPass, 0);
  const layerLinears = 4 * (2 * 768 * 768 + 2 * 768 * 256 + 3 * 768 * 2048);
  assert.equal(bf16.bf16WeightPass, 2 * (layerLinears + 8192 * 768), 'forward and input gradient widen each bf16 weight');
  assert.equal(fp32.f32WeightPass, layerLinears + 8192 * 768, 'fp32: only the forward packs');
  assert.equal(fp32.weightStreams, layerLinears + 8192 * 768, 'fp32 input gradients stream the weights in place');
  assert.equal(nf4.dequantWeightPass, 2 * layerLinears, 'forward and input gradient, once each');
  assert.equal(nf4.bf16WeightPass, 2 * 8192 * 768, 'the head stays bf16');
  assert.equal(nf4.quantGemmFlops + nf4.denseGemmFlops, bf16.denseGemmFlops, 'the same FLOPs, through another kernel');
});

test('dropout: mask values per adapted input feature, drawn in forward, backward and the recompute', () => {
  assert.equal(work().dropoutValues, 0);
  const p = work({ 'lora.dropout': 0.1 });
  assert.equal(p.dropoutValues, 2 * 64 * 4 * (768 + 768));
  const ckpt = work({ 'lora.dropout': 0.1, 'train.gradient_checkpointing': true });
  assert.equal(ckpt.dropoutValues, 3 * 64 * 4 * (768 + 768));
});

test('checkpointing recomputes every layer forward but the down projection (the backward rebuilds its input)', () => {
  const plain = work();
  const ckpt = work({ 'train.gradient_checkpointing': true });
  const recomputed = 4 * 2 * 64 * (2 * 768 * 768 + 2 * 768 * 256 + 2 * 768 * 2048);
  assert.equal(ckpt.denseGemmFlops - plain.denseGemmFlops, recomputed);
  assert.equal(ckpt.layerPasses, plain.layerPasses + 4);
});

test('the estimate is the step work priced at the calibration costs, times the steps; each cost adds its own term', () => {
  const costs: WorkCosts = Object.fromEntries(WORK_TERMS.map((t, i) => [t, (i + 1) * 1e-12]));
  const c = config({ 'train.max_steps': 10 });
  const time = estimate(c, MODEL, { device: 'cpu', calibration: { flopsPerSecond: 1e11, costs } }).time;
  const w = stepWork(timeInputs(c, shape, 64, 10));
  assert.equal(time.secondsPerStep, workSeconds(w, costs));
  assert.equal(time.seconds, 10 * workSeconds(w, costs));
  const dearer = estimate(c, MODEL, { device: 'cpu', calibration: { flopsPerSecond: 1e11, costs: { ...costs, dropoutValues: 1 } } }).time;
  assert.equal(dearer.seconds, time.seconds, 'no dropout: its cost does not matter');
  const state = estimate(c, MODEL, {
    device: 'cpu',
    calibration: { flopsPerSecond: 1e11, costs: { ...costs, stateBytes: 2 * costs.stateBytes! } },
  });
  assert.ok(Math.abs(state.time.secondsPerStep! - time.secondsPerStep! - w.stateBytes * costs.stateBytes!) < 1e-15);
  // a calibration without costs (older files, hand-written) prices the FLOPs at its rate only
  const legacy = estimate(c, MODEL, { device: 'cpu', calibration: { flopsPerSecond: 1e11 } }).time;
  assert.ok(Math.abs(legacy.secondsPerStep! - (legacy.flopsPerToken * legacy.tokensPerStep) / 1e11) < 1e-12);
});

test('fit: costs recovered from exact samples; non-negative under noise', () => {
  const truth: WorkCosts = {
    denseGemmFlops: 6e-12,
    quantGemmFlops: 8e-12,
    attentionFlops: 2e-11,
    bf16WeightPass: 2e-10,
    dequantWeightPass: 1.5e-10,
    weightStreams: 6e-10,
    stateBytes: 1e-10,
    layerPasses: 1e-4,
  };
  const variants: Array<[Record<string, unknown>, number]> = [
    [{}, 32],
    [{}, 128],
    [{ 'train.micro_batch_size': 4, 'train.global_batch_size': 4 }, 64],
    [{ 'model.quantize': 'bnb.nf4' }, 32],
    [{ 'model.quantize': 'bnb.nf4' }, 256],
    [{ 'lora.query': false, 'lora.value': false, 'lora.head': true }, 64],
    [{ 'train.method': 'full', 'model.precision': '32-true' }, 64],
    [{}, 512],
    [{ 'lora.r': 64, 'train.gradient_checkpointing': true }, 200],
  ];
  const samples = variants.map(([sets, rows]) => {
    const w = work(sets, rows);
    return { work: w, seconds: workSeconds(w, truth) };
  });
  const fit = fitWorkCosts(samples);
  assert.ok(fit.maxRelativeError < 1e-6, `${fit.maxRelativeError}`);
  for (const s of samples) assert.ok(Math.abs(workSeconds(s.work, fit.costs) / s.seconds - 1) < 1e-6);
  const noisy = fitWorkCosts(samples.map((s, i) => ({ ...s, seconds: s.seconds * (i % 2 ? 1.3 : 0.75) })));
  for (const [t, cost] of Object.entries(noisy.costs)) assert.ok(cost! >= 0, `${t} ${cost}`);
  assert.ok(noisy.maxRelativeError > 0.1);
});

const record = (costs: WorkCosts, measuredAt = '2026-12-06T19:00:00Z'): CalibrationRecord => ({
  key: 'cpu:test:avx2:1t',
  device: 'test CPU (1 threads)',
  computePath: 'cpu-avx2',
  threads: 1,
  measuredAt,
  flopsPerSecond: 1e11,
  costs,
  timeBasis: 'cpu',
  fitError: 0.05,
  runs: [{ label: 'bf16 q,v 1x64', params: 1e6, tokensPerStep: 64, secondsPerStep: 0.05, flopsPerSecond: 1e11, predictedSeconds: 0.051 }],
});

test('calibration file: the costs round-trip through calibrate’s write and the estimate’s read', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'loralab-calibration-')), 'calibration.json');
  const costs: WorkCosts = { denseGemmFlops: 5.6e-12, dropoutValues: 3.8e-9, layerPasses: 1.4e-4 };
  writeCalibrationRecord(record(costs), path);
  const read = newestCalibration('cpu', path);
  assert.deepEqual(read, record(costs));
  assert.equal(newestCalibration('cuda', path), null);
});

test('calibration file: a file no estimate can use throws an error naming it; the estimate says why time is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-calibration-'));
  const path = join(dir, 'calibration.json');
  const cases: Array<[string, RegExp]> = [
    ['{"version": 1, "devices": {', /is not valid JSON/],
    ['{"version": 2, "devices": {}}', /has version 2, expected 1/],
    [
      JSON.stringify({ version: 1, devices: { k: { ...record({}), costs: { stateBytes: -1 } } } }),
      /costs\.stateBytes must be a number >= 0/,
    ],
    [JSON.stringify({ version: 1, devices: { k: { ...record({}), costs: { gpuMagic: 1 } } } }), /costs\.gpuMagic is not a term/],
    [JSON.stringify({ version: 1, devices: { k: { ...record({}), flopsPerSecond: 'fast' } } }), /flopsPerSecond must be a positive number/],
  ];
  for (const [text, reason] of cases) {
    writeFileSync(path, text);
    assert.throws(
      () => newestCalibration('cpu', path),
      (error: Error) => error instanceof CalibrationFileError && error.message.startsWith(`${path}: `) && reason.test(error.message),
      text,
    );
  }
  const result = estimateConfig(config({ 'train.max_steps': 5 }), () => MODEL, {
    device: 'cpu',
    dataFacts: { error: 'not read' },
    calibration: () => newestCalibration('cpu', path),
  });
  assert.ok(result.estimate, 'memory is still estimated');
  assert.equal(result.estimate.time.seconds, null);
  assert.match(result.calibrationError ?? '', new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*lora-lab calibrate`));
  // calibrate replaces a file no estimate can use
  writeCalibrationRecord(record({ denseGemmFlops: 1e-11 }), path);
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { version: number }).version, 1);
  assert.equal(newestCalibration('cpu', path)?.costs?.denseGemmFlops, 1e-11);
});

test('calibrate on CUDA: only runs its engine accepts (no 32-true), full finetuning in bf16', () => {
  const cuda = runsFor('cuda:0', false);
  assert.equal(cuda.length, runsFor('cpu', false).length - 1, 'all but the fp32 LoRA run');
  for (const run of cuda) assert.notEqual(run.sets['model.precision'], '32-true', run.label);
  assert.ok(cuda.some((run) => run.sets['train.method'] === 'full'));
  assert.ok(runsFor('cpu', false).some((run) => run.sets['model.precision'] === '32-true'));
});

test('code lens: a calibration file no estimate can use shows why time is missing, beside the memory estimate', () => {
  const analysis = analyzeConfig('model:\n  checkpoint: ckpt\ntrain:\n  max_steps: 10\n', '/ws/run.lora.yaml', workspace());
  const broken = () => {
    throw new CalibrationFileError('/cache/lora-lab/calibration.json', 'is not valid JSON (Unexpected end of JSON input)');
  };
  const title = codeLenses(analysis, broken)[1].command?.title ?? '';
  assert.match(title, /^Peak ≈ /);
  assert.match(title, /time: not priced \(\/cache\/lora-lab\/calibration\.json: is not valid JSON .*lora-lab calibrate/);
  const priced = codeLenses(analysis, () => ({ flopsPerSecond: 1e11, costs: { denseGemmFlops: 1e-11 } }))[1].command?.title ?? '';
  assert.match(priced, /time ≈ \S+ for 10 steps/);
});
