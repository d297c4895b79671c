// Estimator model tests without the engine: quantized-weight bytes by quant.h's format, the engine's
// token rows, Llama-2-7B weight bytes, the time model's FLOP ratios, calibration and layouts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../../language-server/src/config/resolve';
import { engineRows, estimate, LLAMA2_7B_CONFIG, readModelShape } from '../../../language-server/src/estimator';
import {
  CPU_RUNTIME_BYTES,
  gemmKSplitFloats,
  gemmScratchBytes,
  quantCodeBytes,
  quantConstantBytes,
  type MemoryInputs,
} from '../../../language-server/src/estimator/memory';

const config = (sets: Record<string, unknown> = {}) => resolveConfig(new Map(Object.entries(sets)), '/tmp/x.lora.yaml');
const shape = readModelShape(LLAMA2_7B_CONFIG);

test('4-bit weights: codes two per byte, absmax per 64 values, double quantization per 256 absmax', () => {
  // a 4096 x 4096 projection: 262,144 blocks of 64, 1,024 second-level blocks
  assert.equal(quantCodeBytes(4096 * 4096), 8_388_608);
  assert.equal(quantConstantBytes(4096 * 4096, false), 4 * 262_144);
  assert.equal(quantConstantBytes(4096 * 4096, true), 262_144 + 4 * 1_024 + 4);
  // partial blocks round up (an odd element count still takes a whole byte)
  assert.equal(quantCodeBytes(65), 33);
  assert.equal(quantConstantBytes(65, false), 8);
  assert.equal(quantConstantBytes(65, true), 2 + 4 + 4);
});

test('token rows: the longest example after truncation, minus the last token', () => {
  assert.equal(engineRows(config({ 'data.max_seq_length': 512 })), 511);
  assert.equal(engineRows(config({ 'data.max_seq_length': 512 }), 82), 81);
  assert.equal(engineRows(config({ 'data.max_seq_length': 64 }), 1000), 63);
});

test('Llama-2-7B frozen weights: bf16 matrices with fp32 norms, or nf4 codes + absmax', () => {
  const norms = 65 * 4096;
  const bf16 = estimate(config(), LLAMA2_7B_CONFIG, { device: 'cpu' }).memory.bytesByCategory;
  assert.equal(bf16.weights, 2 * (6_738_415_616 - norms) + 4 * norms);
  assert.equal(bf16.quant_constants, 0);
  const fp32 = estimate(config({ 'model.precision': '32-true' }), LLAMA2_7B_CONFIG, { device: 'cpu' }).memory.bytesByCategory;
  assert.equal(fp32.weights, 4 * 6_738_415_616);
  const nf4 = estimate(config({ 'model.quantize': 'bnb.nf4' }), LLAMA2_7B_CONFIG, { device: 'cpu' }).memory.bytesByCategory;
  const dq = estimate(config({ 'model.quantize': 'bnb.nf4-dq' }), LLAMA2_7B_CONFIG, { device: 'cpu' }).memory.bytesByCategory;
  const linear = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008);
  assert.equal(nf4.weights, linear / 2 + 2 * 2 * 32000 * 4096 + 4 * norms);
  assert.equal(nf4.quant_constants, 4 * (linear / 64));
  assert.ok(dq.quant_constants < nf4.quant_constants / 3.9, 'double quantization keeps ~1 byte of 4 per block');
  assert.equal(dq.weights, nf4.weights);
});

test('engine threads: each packs the small weights into panels of its own (runtime overhead, CPU layout)', () => {
  // Llama-2-7B, LoRA r 8 q,v: every frozen weight is over the shared-packing limit; the one small packed
  // weight is B^T of out += (s u) B^T (4096 x 8 floats), kept once with 1 thread and by each of 4 threads
  const one = estimate(config(), LLAMA2_7B_CONFIG, { device: 'cpu' }).memory;
  const four = estimate(config(), LLAMA2_7B_CONFIG, { device: 'cpu', threads: 4 }).memory;
  assert.equal(four.runtimeOverheadBytes - one.runtimeOverheadBytes, 4 * (4 - 1) * 4096 * 8);
  assert.equal(four.peakBytes, one.peakBytes, 'the tracked buffers do not change');
});

test('trainable state: 16 bytes per parameter with AdamW, 12 with SGD (fp32 masters, grads, moments)', () => {
  const adam = estimate(config(), LLAMA2_7B_CONFIG, { device: 'cpu' });
  const sgd = estimate(config({ 'train.optimizer': 'sgd' }), LLAMA2_7B_CONFIG, { device: 'cpu' });
  const state = (m: typeof adam.memory.bytesByCategory) => m.lora_params + m.grads + m.optimizer_state;
  assert.equal(state(adam.memory.bytesByCategory), 16 * 4_194_304);
  assert.equal(state(sgd.memory.bytesByCategory), 12 * 4_194_304);
  const full = estimate(config({ 'train.method': 'full', 'model.precision': '32-true' }), LLAMA2_7B_CONFIG, { device: 'cpu' });
  assert.equal(
    full.memory.bytesByCategory.weights + full.memory.bytesByCategory.grads + full.memory.bytesByCategory.optimizer_state,
    16 * 6_738_415_616,
  );
});

test('activations: linear in micro-batch and sequence, one layer set with checkpointing, bf16 on CUDA', () => {
  const acts = (sets: Record<string, unknown>, device: 'cpu' | 'cuda' = 'cpu') =>
    estimate(config(sets), LLAMA2_7B_CONFIG, { device }).memory.bytesByCategory.activations;
  const base = acts({ 'data.max_seq_length': 257 });
  assert.equal(acts({ 'data.max_seq_length': 257, 'train.micro_batch_size': 4, 'train.global_batch_size': 128 }), 4 * base);
  assert.equal(acts({ 'data.max_seq_length': 513 }), 2 * base);
  assert.ok(acts({ 'data.max_seq_length': 257, 'train.gradient_checkpointing': true }) < base / 8);
  // on CUDA only the per-token statistics (rstd, lse) stay fp32
  const cuda = acts({ 'data.max_seq_length': 257 }, 'cuda');
  assert.ok(cuda > 0.5 * base && cuda < 0.52 * base);
});

test('time: ~4x the matmul parameters per token for LoRA, ~6x for full, + a forward but the down projection with checkpointing', () => {
  const matmulParams = 6_738_415_616 - 32000 * 4096 - 65 * 4096; // every linear incl. the head, not the embedding lookup
  const flops = (sets: Record<string, unknown>) =>
    estimate(config({ 'data.max_seq_length': 65, ...sets }), LLAMA2_7B_CONFIG, { device: 'cpu' }).time;
  const lora = flops({}).flopsPerToken / matmulParams;
  const full = flops({ 'train.method': 'full' }).flopsPerToken / matmulParams;
  const recompute = flops({ 'train.gradient_checkpointing': true }).flopsPerToken / matmulParams;
  assert.ok(lora > 4 && lora < 4.1, `LoRA ${lora}`);
  assert.ok(full > 6 && full < 6.1, `full ${full}`);
  // the recompute runs q, k, v, o, gate and up again (2 x 157M of each layer's 202M parameters)
  assert.ok(recompute > 5.5 && recompute < 5.6, `checkpointing ${recompute}`);
});

test('time: uncalibrated without a calibration; seconds = FLOPs x tokens x steps / FLOP/s with one', () => {
  const c = config({ 'train.max_steps': 390, 'train.global_batch_size': 128, 'data.max_seq_length': 513 });
  const none = estimate(c, shape, { device: 'cuda' }).time;
  assert.deepEqual([none.calibrated, none.seconds], [false, null]);
  assert.equal(none.tokensPerStep, 128 * 512);
  const withCalibration = estimate(c, shape, { device: 'cuda', calibration: { flopsPerSecond: 1e14 } }).time;
  assert.equal(withCalibration.calibrated, true);
  assert.equal(withCalibration.seconds, (none.flopsPerToken * 128 * 512 * 390) / 1e14);
  // no max_steps: the step count needs the number of training examples
  const epochs = estimate(config({ 'train.global_batch_size': 128 }), shape, {
    device: 'cpu',
    trainExamples: 50_000,
    calibration: { flopsPerSecond: 1e12 },
  }).time;
  assert.equal(epochs.steps, 390);
});

test('process view: the CPU loader maps the checkpoint; CUDA adds its context', () => {
  const cpu = estimate(config(), LLAMA2_7B_CONFIG, { device: 'cpu' }).memory;
  // fp16 checkpoint mapped (2 bytes per parameter) while the bf16 weights are built
  assert.ok(cpu.loadPeakBytes > cpu.bytesByCategory.weights + 2 * 6_738_415_616);
  assert.equal(cpu.processPeakBytes, cpu.loadPeakBytes + CPU_RUNTIME_BYTES, 'loading a 7B checkpoint outweighs a 512-token step');
  const cuda = estimate(config(), LLAMA2_7B_CONFIG, { device: 'cuda' }).memory;
  assert.equal(cuda.processPeakBytes, cuda.peakBytes + cuda.runtimeOverheadBytes);
});

test('CPU GEMM scratch: fp32 transpose + widened bf16 copy of the largest weight up to 4M floats, from 192 rows', () => {
  const qv = { query: true, key: false, value: true, projection: false, mlp: false, head: false };
  const tiny = readModelShape({
    architectures: ['LlamaForCausalLM'],
    hidden_size: 768,
    intermediate_size: 2048,
    num_hidden_layers: 4,
    num_attention_heads: 12,
    num_key_value_heads: 4,
    vocab_size: 8192,
  });
  const inputs: MemoryInputs = {
    shape: tiny,
    device: 'cpu',
    method: 'lora',
    precision: 'bf16-true',
    quantize: 'none',
    rank: 8,
    targets: qv,
    dropout: 0.05,
    optimizer: 'adamw',
    statePrecision: 'fp32',
    gradientCheckpointing: false,
    microBatchSize: 4,
    rows: 64,
  };
  // gate/up/down (2048 x 768) are the largest under the limit; the head (8192 x 768) is over it, and
  // its input gradient (256 rows, K = 8192) sums 4 ranges of 2048 into 256 x 768 partials
  const headSplit = 4 * 256 * 768;
  assert.equal(gemmKSplitFloats(256, 768, 8192), headSplit);
  // rank 8 runs its rank-wide products transposed: the widest is q's du^T + B^T, 8 x (256 rows + 768)
  const narrow = 8 * (256 + 768);
  assert.equal(gemmScratchBytes(inputs), 4 * (2 * 2048 * 768 + headSplit + narrow));
  assert.equal(
    gemmScratchBytes({ ...inputs, precision: '32-true' }),
    4 * (2048 * 768 + headSplit + narrow),
    'no widened copy of fp32 weights',
  );
  // 128 rows take the packed path; the head's gradient: 4 x 128 x 768 partials
  assert.equal(gemmScratchBytes({ ...inputs, microBatchSize: 2 }), 4 * (4 * 128 * 768 + 8 * (128 + 768)));
  // nf4 linears run their own kernels: only the LoRA factors are re-laid out
  assert.equal(gemmScratchBytes({ ...inputs, quantize: 'bnb.nf4' }), 4 * (8 * 768 + headSplit + narrow));
  // rank 16 is no narrow product: u = x A^T packs A (16 x 768) instead
  assert.equal(gemmScratchBytes({ ...inputs, rank: 16, quantize: 'bnb.nf4' }), 4 * (16 * 768 + headSplit));
  // with 2 threads that A (16 x 768: one 64-column panel of 768 rows, under 2^18 floats) is packed by
  // each thread for itself; 1 thread keeps the shared copy
  assert.equal(gemmScratchBytes({ ...inputs, rank: 16, quantize: 'bnb.nf4', threads: 2 }), 4 * (headSplit + 2 * 64 * 768));
  assert.equal(gemmScratchBytes({ ...inputs, threads: 1 }), gemmScratchBytes(inputs));
  // Llama-2-7B's weights are all over 4M floats: only LoRA factors (r x 4096); the head's gradient
  // (262-row logits chunks, K = 32000) in 4 ranges of 8192, as 2048-long ranges would pass 4M floats
  const big: MemoryInputs = { ...inputs, shape, rows: 511, microBatchSize: 1 };
  assert.equal(gemmKSplitFloats(262, 4096, 32000), 4 * 262 * 4096);
  assert.equal(gemmScratchBytes(big), 4 * (8 * 4096 + 4 * 262 * 4096 + 8 * (511 + 4096)));
  // few ranges, many rows or a short K keep the column grid
  assert.equal(gemmKSplitFloats(131, 288, 2000), 0);
  assert.equal(gemmKSplitFloats(512, 288, 32000), 0);
  assert.equal(gemmKSplitFloats(384, 11008, 4096), 0, 'one range of 4128 would not split');
});

test('the estimator stays pure: no Node built-ins, no addon, no trainer imports (eslint.config.mjs enforces it too)', () => {
  const dir = join(__dirname, '../../../language-server/src/estimator');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const imports = [...readFileSync(join(dir, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    for (const source of imports) assert.ok(source.startsWith('./') || source.startsWith('../config/'), `${file} imports ${source}`);
  }
});
