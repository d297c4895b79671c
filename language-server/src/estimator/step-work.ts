// The work of one training step in the units the time model prices, counted as the CPU engine does it
// (native/src/model/llama_{forward,backward,optim}.cpp, ops/matmul.cpp, quant/quant_matmul.cpp):
// GEMM FLOPs by weight storage, LoRA and attention FLOPs, weight elements widened or dequantized per
// pass, elementwise activation values, dropout mask values, trainable-state bytes and layer passes.
import { GEMM_SCRATCH_LIMIT_FLOATS, GEMM_SCRATCH_MIN_ROWS, LOGITS_CHUNK_FLOATS, type TrainingSettings } from './memory';
import { isAdapted, LINEAR_TARGETS, linearShape, type LinearTarget } from './params';
import { trainableStateBytes, trainableTensors } from './trainable-state';

/** What a step's cost depends on (a resolved config's training settings on one model). */
export interface StepInputs extends TrainingSettings {
  microBatchSize: number;
  globalBatchSize: number;
}

/** The work kinds of a step; each has one calibrated cost in seconds per unit. */
export const WORK_TERMS = [
  'denseGemmFlops',
  'quantGemmFlops',
  'loraFlops',
  'attentionFlops',
  'f32WeightPass',
  'bf16WeightPass',
  'dequantWeightPass',
  'weightStreams',
  'activationValues',
  'dropoutValues',
  'stateBytes',
  'layerPasses',
] as const;
export type WorkTerm = (typeof WORK_TERMS)[number];

/**
 * One optimizer step's work. FLOPs count 2 per multiply-add; weight passes count weight elements
 * packed, widened (bf16) or dequantized (4-bit) once per GEMM call or row block; weight streams count the
 * fp32 weight values that each 96-row block of a GEMM reads from a shared copy; activation values are
 * the floats elementwise kernels (norms, RoPE, SwiGLU, residuals, cross-entropy) read or write per token;
 * state bytes are the trainable state's gradient zeroing, accumulation, norm and optimizer update.
 */
export type StepWork = Record<WorkTerm, number>;

/** Row block of the CPU GEMM task grid (kBlockM in ops/matmul.cpp); a weight is packed once per row block. */
export const GEMM_BLOCK_ROWS = 96;

export type WeightStorage = 'f32' | 'bf16' | 'q4';

/**
 * How one GEMM over `rows` tokens touches a weight (ops/matmul.cpp, quant/quant_matmul.cpp): `passes`,
 * how often it is packed, widened or dequantized (its storage's cost per value); `streams`, how often a
 * row block reads a shared fp32 copy of it in place. With rows >= 192 and at most 4M values the weight is
 * transposed (nt) or widened (bf16 nn) once and every 96-row block streams that copy; otherwise each task
 * packs its panel, once per row block (a single block up to 4 x 96 rows). The input gradient of fp32
 * weights (nn) streams them in place; 4-bit weights are dequantized tile by tile once per call.
 */
export function weightTouches(
  rows: number,
  elements: number,
  kind: 'nt' | 'nn',
  storage: WeightStorage,
): { passes: number; streams: number } {
  if (rows <= 0) return { passes: 0, streams: 0 };
  const blocks = Math.ceil(rows / GEMM_BLOCK_ROWS);
  if (storage === 'q4') return { passes: 1, streams: 0 };
  if (kind === 'nn' && storage === 'f32') return { passes: 0, streams: blocks };
  if (rows >= GEMM_SCRATCH_MIN_ROWS && elements <= GEMM_SCRATCH_LIMIT_FLOATS) return { passes: 1, streams: blocks };
  return { passes: Math.ceil(rows / (rows <= 4 * GEMM_BLOCK_ROWS ? rows : GEMM_BLOCK_ROWS)), streams: 0 };
}

function zeroWork(): StepWork {
  return Object.fromEntries(WORK_TERMS.map((t) => [t, 0])) as StepWork;
}

/** Micro-batches per optimizer step (gradient accumulation). */
export function microBatchesPerStep(inputs: Pick<StepInputs, 'microBatchSize' | 'globalBatchSize'>): number {
  return Math.max(1, Math.ceil(inputs.globalBatchSize / Math.max(1, inputs.microBatchSize)));
}

/** Decoder layers the backward pass walks: LoRA stops below the lowest adapted layer (every layer is adapted alike). */
function backwardLayers(inputs: StepInputs): number {
  if (inputs.method === 'full') return inputs.shape.layers;
  const layerTargets = LINEAR_TARGETS.filter((t) => t !== 'head' && isAdapted(inputs.targets, t, inputs.shape));
  return layerTargets.length > 0 ? inputs.shape.layers : 0;
}

/** The work of one micro-batch of `rowsPerExample` tokens x `examples` examples through forward, head and backward. */
function microBatchWork(inputs: StepInputs, examples: number): StepWork {
  const { shape, method, rank } = inputs;
  const w = zeroWork();
  const T = inputs.rows;
  const N = examples * T;
  const L = shape.layers;
  const C = shape.hiddenSize;
  const F = shape.intermediateSize;
  const QD = shape.heads * shape.headDim;
  const KD = shape.kvHeads * shape.headDim;
  const Lb = backwardLayers(inputs);
  const recomputed = inputs.gradientCheckpointing ? Lb : 0;
  const full = method === 'full';
  const storageOf = (t: LinearTarget): WeightStorage =>
    full ? 'f32' : t !== 'head' && inputs.quantize !== 'none' ? 'q4' : inputs.precision === '32-true' ? 'f32' : 'bf16';
  const adapted = (t: LinearTarget) => !full && isAdapted(inputs.targets, t, shape);
  const dropout = !full && inputs.dropout > 0;
  const pass = (t: LinearTarget, rows: number, kind: 'nt' | 'nn', copies: number) => {
    const [inFeatures, outFeatures] = linearShape(shape, t);
    const storage = storageOf(t);
    const touches = weightTouches(rows, inFeatures * outFeatures, kind, storage);
    const passed = copies * touches.passes * inFeatures * outFeatures;
    w.weightStreams += copies * touches.streams * inFeatures * outFeatures;
    if (storage === 'q4') w.dequantWeightPass += passed;
    else if (storage === 'f32') w.f32WeightPass += passed;
    else w.bf16WeightPass += passed;
    const flops = copies * 2 * inFeatures * outFeatures * rows;
    if (storage === 'q4') w.quantGemmFlops += flops;
    else w.denseGemmFlops += flops;
  };
  // LoRA's rank-r products (factor 1 forward, 2 backward) and its dropout masks, drawn again on every pass
  const lora = (t: LinearTarget, rows: number, copies: number, factor: number, masks: number, inputOnly = false) => {
    if (!adapted(t)) return;
    const [inFeatures, outFeatures] = linearShape(shape, t);
    w.loraFlops += copies * factor * 2 * rank * (inputOnly ? inFeatures : inFeatures + outFeatures) * rows;
    if (dropout) w.dropoutValues += copies * masks * inFeatures * rows;
  };
  const layerTargets = LINEAR_TARGETS.filter((t) => t !== 'head');
  // forward of every layer; under checkpointing backward re-runs each layer's forward up to gate/up
  // (down's input is rebuilt by the backward's own SwiGLU, and only its LoRA su is recomputed)
  for (const t of layerTargets) {
    pass(t, N, 'nt', L);
    lora(t, N, L, 1, 1);
    if (recomputed > 0) {
      if (t !== 'down') pass(t, N, 'nt', recomputed);
      lora(t, N, recomputed, 1, 1, t === 'down');
    }
    // backward: the input gradient through every walked layer's weights, weight gradients in full mode
    pass(t, N, 'nn', Lb);
    lora(t, N, Lb, 2, 1);
    if (full) {
      const [inFeatures, outFeatures] = linearShape(shape, t);
      w.denseGemmFlops += Lb * 2 * inFeatures * outFeatures * N;
    }
  }
  // causal attention over (T + 1) / 2 keys on average: QK^T and PV, backward ~2.5x the forward
  const attentionForward = 4 * QD * ((T + 1) / 2) * N;
  w.attentionFlops += (L + recomputed) * attentionForward + Lb * 2.5 * attentionForward;
  // the head in chunks of rows (at most 4M logits): forward, cross-entropy, input gradient (and its weight gradient in full mode)
  const V = shape.vocabSize;
  const chunk = Math.max(1, Math.min(N, Math.floor(LOGITS_CHUNK_FLOATS / V)));
  for (let done = 0; done < N; done += chunk) {
    const rows = Math.min(chunk, N - done);
    pass('head', rows, 'nt', 1);
    pass('head', rows, 'nn', 1);
    lora('head', rows, 1, 3, 2);
    if (full) w.denseGemmFlops += 2 * C * V * rows;
  }
  // elementwise values per token: norms, RoPE, residuals and SwiGLU forward; their gradients (with the
  // recomputed normed inputs and SwiGLU) backward; the embedding, the logits' cross-entropy and the head's copies
  const forwardLayer = 8 * C + 2 * (QD + KD) + 3 * F;
  const backwardLayer = 14 * C + 3 * QD + KD + 9 * F;
  w.activationValues += N * ((L + recomputed) * forwardLayer + Lb * backwardLayer + 3 * V + 4 * C + (full ? C : 0));
  w.layerPasses += L + recomputed + Lb + 1;
  return w;
}

/** The work of one optimizer step: its micro-batches (full ones, then the remainder) and the optimizer update. */
export function stepWork(inputs: StepInputs): StepWork {
  const micro = Math.max(1, Math.min(inputs.microBatchSize, inputs.globalBatchSize));
  const microBatches = microBatchesPerStep(inputs);
  const fullBatches = Math.floor(inputs.globalBatchSize / micro);
  const remainder = inputs.globalBatchSize - fullBatches * micro;
  const work = zeroWork();
  const add = (w: StepWork, times: number) => {
    for (const t of WORK_TERMS) work[t] += times * w[t];
  };
  add(microBatchWork(inputs, micro), fullBatches);
  if (remainder > 0) add(microBatchWork(inputs, remainder), 1);
  // trainable state: gradients zeroed, accumulated (read + write) per micro-batch, read by the norm and
  // the update; masters and moments read and written by the update (fp32 weights in full mode)
  const groups = trainableTensors(inputs.shape, inputs.method, inputs.rank, inputs.targets);
  const precision = inputs.method === 'full' ? 'fp32' : inputs.statePrecision;
  const state = trainableStateBytes(groups, inputs.optimizer, precision);
  work.stateBytes += 2 * state.masters + state.grads * (3 + 2 * microBatches) + 2 * state.moments;
  return work;
}

/** Seconds per unit of each work kind (the calibration's fitted costs). */
export type WorkCosts = Partial<Record<WorkTerm, number>>;

/** Seconds of `work` at `costs`; kinds without a cost count as free. */
export function workSeconds(work: StepWork, costs: WorkCosts): number {
  return WORK_TERMS.reduce((sum, t) => sum + work[t] * (costs[t] ?? 0), 0);
}
