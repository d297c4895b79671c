// Peak memory of a training run by the engine's own categories, buffer by buffer as the CPU engine
// allocates them (native/src/model/llama_*.cpp, memory.cpp), plus the process view (loading transient).
import type { ModelShape } from './model-shape';
import {
  baseParamsOf,
  biasParams,
  countParams,
  embeddingParams,
  isAdapted,
  LINEAR_TARGETS,
  linearShape,
  normParams,
  type LinearTarget,
  type LoraTargets,
} from './params';
import {
  isAdamw,
  is8bit,
  loraPairFloats,
  trainableStateBytes,
  trainableTensors,
  type OptimizerName,
  type StatePrecision,
} from './trainable-state';

/** The engine's MemCategory names (native/src/engine.h, MemoryByCategory in native/trainer/addon.ts). */
export type MemoryCategory =
  'weights' | 'quant_constants' | 'lora_params' | 'grads' | 'optimizer_state' | 'activations' | 'logits' | 'workspace' | 'kv_cache';
export const MEMORY_CATEGORIES: readonly MemoryCategory[] = [
  'weights',
  'quant_constants',
  'lora_params',
  'grads',
  'optimizer_state',
  'activations',
  'logits',
  'workspace',
  'kv_cache',
];

export type Precision = 'bf16-true' | 'bf16-mixed' | '16-true' | '32-true';
export type Quantize = 'none' | 'bnb.nf4' | 'bnb.nf4-dq' | 'bnb.fp4' | 'bnb.fp4-dq';

/** A config's training settings on one model, as the memory and the time model both read them. */
export interface TrainingSettings {
  shape: ModelShape;
  method: 'lora' | 'full';
  precision: Precision;
  quantize: Quantize;
  rank: number;
  targets: LoraTargets;
  dropout: number;
  optimizer: OptimizerName;
  /** train.state_precision: fp32 or bf16 LoRA masters, gradients and moments. */
  statePrecision: StatePrecision;
  gradientCheckpointing: boolean;
  /** Token rows per example in the engine (T): the longest example after truncation, minus one. */
  rows: number;
}

export interface MemoryInputs extends TrainingSettings {
  device: 'cpu' | 'cuda';
  microBatchSize: number; // B
  /** CPU engine threads, for the per-thread GEMM panels (gemmScratchBytes); absent: 1. */
  threads?: number;
}

/** One group of identical engine buffers (count x bytes each). */
export interface BufferGroup {
  name: string;
  category: MemoryCategory;
  count: number;
  bytes: number;
}

export interface MemoryEstimate {
  layout: 'cpu' | 'cuda';
  bytesByCategory: Record<MemoryCategory, number>;
  /** What the engine's tracker reports as peakTotal: every buffer above is alive at the end of a step. */
  peakBytes: number;
  /** While loading: the tracked model state plus the memory-mapped checkpoint (CPU RSS, reclaimable pages). */
  loadPeakBytes: number;
  /** Runtime memory the tracker does not see: per-thread GEMM scratch on CPU, the CUDA context on GPUs. */
  runtimeOverheadBytes: number;
  /** The high-water mark the OS (CPU: RSS above the pre-load baseline) or the device (CUDA) sees. */
  processPeakBytes: number;
  buffers: BufferGroup[];
}

/** At most this many fp32 logits at once (kLogitsChunkFloats in llama_forward.cpp). */
export const LOGITS_CHUNK_FLOATS = 2 ** 23;
export const QUANT_BLOCK = 64;
export const QUANT_BLOCK2 = 256;
/**
 * The CPU process's own cost of an engine beyond its buffers: the N-API worker and engine threads,
 * the addon's code pages first touched by a load and a step. Measured 1.2-2.8 MB (bench.ts).
 */
export const CPU_RUNTIME_BYTES = 2 * 2 ** 20;
/** A CUDA context with cuBLAS handles: what nvidia-smi shows before the first tensor. */
export const CUDA_CONTEXT_BYTES = 512 * 2 ** 20;

/** Bytes of the 4-bit codes of a (rows x cols) weight (two per byte). */
export function quantCodeBytes(elements: number): number {
  return Math.ceil(elements / 2);
}

/** fp32 absmax per 64-block, or with double quantization 8-bit absmax + fp32 scale per 256 absmax + the mean. */
export function quantConstantBytes(elements: number, doubleQuant: boolean): number {
  const blocks = Math.ceil(elements / QUANT_BLOCK);
  if (!doubleQuant) return 4 * blocks;
  return blocks + 4 * Math.ceil(blocks / QUANT_BLOCK2) + 4;
}

const isHalf = (p: Precision) => p !== '32-true';

/** Frozen or trainable base weights: fp32 masters in full mode, bf16/fp16 matrices (norms, biases fp32), or 4-bit codes. */
function weightBuffers(inputs: MemoryInputs): BufferGroup[] {
  const { shape, method, precision, quantize } = inputs;
  const out: BufferGroup[] = [];
  const add = (name: string, category: MemoryCategory, count: number, bytes: number) => {
    if (count > 0 && bytes > 0) out.push({ name, category, count, bytes });
  };
  const vectors = normParams(shape) + biasParams(shape);
  if (method === 'full') {
    add('weights (fp32, trainable)', 'weights', 1, 4 * countParams(shape, 'full', 0, inputs.targets).base);
    return out;
  }
  const frozenBytes = precision === 'bf16-mixed' && inputs.device === 'cuda' ? 6 : isHalf(precision) ? 2 : 4;
  add('norms and biases (fp32)', 'weights', 1, 4 * vectors);
  add('embedding', 'weights', 1, frozenBytes * embeddingParams(shape));
  if (!shape.tiedEmbeddings) add('lm_head', 'weights', 1, frozenBytes * matrixElements(shape, 'head'));
  for (const t of LINEAR_TARGETS) {
    if (t === 'head') continue;
    const [inFeatures, outFeatures] = linearShape(shape, t);
    const elements = inFeatures * outFeatures;
    if (quantize === 'none') {
      add(`${t} weights`, 'weights', shape.layers, frozenBytes * elements);
    } else {
      add(`${t} 4-bit codes`, 'weights', shape.layers, quantCodeBytes(elements));
      add(`${t} absmax`, 'quant_constants', shape.layers, quantConstantBytes(elements, quantize.endsWith('-dq')));
    }
  }
  return out;
}

function matrixElements(shape: ModelShape, t: LinearTarget): number {
  const [inFeatures, outFeatures] = linearShape(shape, t);
  if (t === 'head') return shape.tiedEmbeddings ? 0 : inFeatures * outFeatures;
  return shape.layers * inFeatures * outFeatures;
}

/** Rows of the CPU LoRA path's dropout tile (kBlockRows in ops/lora_fused.cpp). */
export const LORA_DROPOUT_BLOCK_ROWS = 256;

/** The CPU attention's query tile size (kTile in ops/attention_tiled.cpp). */
export const ATTENTION_TILE = 64;

/** T rounded up to 64 (kRound in ops/attention_tiled.cpp): the packed keys and values, and the score rows. */
function attentionPadded(T: number): number {
  return Math.ceil(T / 64) * 64;
}

/** Floats of one (row, kv head) task of the CPU attention backward (attention_backward_scratch_floats):
 * packed keys and values (Tp x HD each), the keys and the dK / dV sums (T x HD each), the score and dP
 * blocks (64 x Tp each), the Q, dO and dQ tiles (64 x HD each) and D (64). */
export function attentionBackwardTaskFloats(shape: ModelShape, T: number): number {
  const HD = shape.headDim,
    Tp = attentionPadded(T);
  return 2 * Tp * HD + 3 * T * HD + 2 * ATTENTION_TILE * Tp + 3 * ATTENTION_TILE * HD + ATTENTION_TILE;
}

/** Floats of the CPU attention forward's scratch (attention_forward_scratch_floats): per task (row and
 * G query heads, G = NH/NKV when B*NKV >= 8, else 1) the packed keys (Tp x HD), the values (T x HD), a
 * (64, Tp) score block and a (64, HD) output tile. */
export function attentionForwardFloats(shape: ModelShape, B: number, T: number): number {
  const HD = shape.headDim,
    G = B * shape.kvHeads >= 8 ? shape.heads / shape.kvHeads : 1,
    Tp = attentionPadded(T);
  const tiled = B * (shape.heads / G) * (Tp * HD + T * HD + ATTENTION_TILE * Tp + ATTENTION_TILE * HD);
  return Math.max(B * shape.heads * T, tiled);
}

/** Every buffer of a training step, in the engine's categories, with its element size on this layout. */
export function trainingBuffers(inputs: MemoryInputs): BufferGroup[] {
  const { shape, method, rank, targets, device, precision } = inputs;
  const out = weightBuffers(inputs);
  const add = (name: string, category: MemoryCategory, count: number, bytes: number) => {
    if (count > 0 && bytes > 0) out.push({ name, category, count, bytes });
  };
  const params = countParams(shape, method, rank, targets);
  const trainable = params.trainable;
  const halfCompute = device === 'cuda' && isHalf(precision);
  // trainable state: fp32 or bf16 masters and grads, AdamW's two moments or SGD's momentum (fp32, bf16 or 8-bit)
  const bf16State = inputs.statePrecision === 'bf16';
  const state = trainableStateBytes(trainableTensors(shape, method, rank, targets), inputs.optimizer, inputs.statePrecision);
  if (method === 'lora') add(`LoRA A/B (${inputs.statePrecision})`, 'lora_params', 1, state.masters);
  if (method === 'lora' && halfCompute && !bf16State) add('LoRA A/B compute copies', 'lora_params', 1, 2 * trainable);
  add(`gradients (${inputs.statePrecision})`, 'grads', 1, state.grads);
  const momentsName = `${isAdamw(inputs.optimizer) ? 'AdamW exp_avg + exp_avg_sq' : 'SGD momentum'} (${is8bit(inputs.optimizer) ? '8-bit codes + absmax' : inputs.statePrecision})`;
  add(momentsName, 'optimizer_state', 1, state.moments);

  const C = shape.hiddenSize,
    F = shape.intermediateSize,
    V = shape.vocabSize,
    L = shape.layers;
  const QD = shape.heads * shape.headDim,
    KD = shape.kvHeads * shape.headDim;
  const B = inputs.microBatchSize,
    T = inputs.rows,
    N = B * T;
  const e = halfCompute ? 2 : 4; // activation / workspace element size
  const f32 = 4; // rstd, lse, logits and the loss stay fp32
  const layerAdapted = method === 'lora' ? LINEAR_TARGETS.filter((t) => t !== 'head' && isAdapted(targets, t, shape)) : [];
  const headAdapted = method === 'lora' && targets.head;
  const anyLora = layerAdapted.length > 0 || headAdapted;
  const R = rank;
  // LoRA mode skips the backward of layers below the lowest adapted one: no layer adapted, no layer backward
  const layerBackward = method === 'full' || layerAdapted.length > 0;
  // the head runs in chunks of rows with a target (every row of a full-length batch)
  const chunk = Math.max(1, Math.min(N, Math.floor(LOGITS_CHUNK_FLOATS / V)));

  // activations saved per layer (LayerActs): all L without checkpointing, one scratch set with it
  const actSets = inputs.gradientCheckpointing ? 1 : L;
  const parallelBlock = shape.family !== 'llama'; // Phi / Falcon (model/parallel_block.cpp): LayerNorm mean + rstd, no up
  add(
    parallelBlock ? 'LayerNorm mean + rstd per norm (N)' : 'rstd1 + rstd2 (N)',
    'activations',
    (parallelBlock ? 2 * shape.normsPerLayer : 2) * actSets,
    f32 * N,
  );
  add('q, att (N,QD)', 'activations', 2 * actSets, e * N * QD);
  add('k, v (N,KD)', 'activations', 2 * actSets, e * N * KD);
  add('lse (B,NH,T)', 'activations', actSets, f32 * N * shape.heads);
  add('x_mid (N,C)', 'activations', actSets, e * N * C);
  add(parallelBlock ? 'fc1 pre-activation (N,F)' : 'gate, up (N,F)', 'activations', (parallelBlock ? 1 : 2) * actSets, e * N * F);
  if (anyLora) add('LoRA u (N,R), one per linear slot', 'activations', 7 * actSets, e * N * R);
  add('residual stream (L+1) x (N,C)', 'activations', L + 1, e * N * C);
  add(parallelBlock ? 'final LayerNorm mean + rstd (N)' : 'final norm rstd (N)', 'activations', parallelBlock ? 2 : 1, f32 * N);
  add('final norm output + its gradient (N,C)', 'activations', 2, e * N * C);

  // workspace reused by every layer
  add('normed input (N,C)', 'workspace', 1, e * N * C);
  add('SwiGLU output (N,F)', 'workspace', 1, e * N * F);
  if (shape.family === 'falcon') add('fused query_key_value output (N,QD+2KD)', 'workspace', 1, e * N * (QD + 2 * KD));
  add('residual gradient (N,C)', 'workspace', 1, e * N * C);
  if (layerBackward) {
    add(parallelBlock ? 'dh, d fc1 (N,F)' : 'dh, dgate, dup (N,F)', 'workspace', parallelBlock ? 2 : 3, e * N * F);
    add('dxn (N,C)', 'workspace', 1, e * N * C);
    add('datt, dq (N,QD)', 'workspace', 2, e * N * QD);
    add('dk, dv (N,KD)', 'workspace', 2, e * N * KD);
  }
  // CUDA recomputes a layer's output into a scratch; the CPU engine's recomputation stops before Down
  if (inputs.gradientCheckpointing && device === 'cuda') add('recomputed layer output (N,C)', 'workspace', 1, e * N * C);
  if (device === 'cpu') {
    // attention scratch (ops/attention_tiled.cpp): forward (G*64, T) score blocks with the kv head's keys
    // and values per task, backward per (row, kv head) task its keys, values, dK, dV and the group's
    // stacked (rep*64, T) score blocks and tiles
    add('attention forward score blocks and tiles', 'workspace', 1, f32 * attentionForwardFloats(shape, B, T));
    if (layerBackward)
      add('attention backward tiles, per (row, kv head)', 'workspace', B * shape.kvHeads, f32 * attentionBackwardTaskFloats(shape, T));
  }
  if (anyLora) {
    const duRows = Math.max(layerAdapted.length > 0 ? N : 0, headAdapted ? chunk : 0);
    add('LoRA dU (N,R)', 'workspace', 1, e * duRows * R);
    if (inputs.dropout > 0 && device === 'cpu') {
      // the dropped-out input (or its gradient) and its mask, one block of rows at a time (ops/lora_fused.cpp),
      // sized for the widest adapted input
      const block = (rows: number) => Math.min(rows, LORA_DROPOUT_BLOCK_ROWS);
      const widest = Math.max(...layerAdapted.map((t) => block(N) * linearShape(shape, t)[0]), headAdapted ? block(chunk) * C : 0);
      add('LoRA dropout tile (block,IC)', 'workspace', 1, f32 * widest);
      add('LoRA dropout mask (block,IC) bytes', 'workspace', 1, widest);
    } else if (inputs.dropout > 0) {
      // the dropped-out input and its gradient, sized for the widest adapted input
      const widest = Math.max(...layerAdapted.map((t) => N * linearShape(shape, t)[0]), headAdapted ? chunk * C : 0);
      add('LoRA dropout input + its gradient (N,IC)', 'workspace', 2, e * widest);
    }
  }
  // bf16 masters widened to fp32 for the LoRA kernels, and one call's fp32 gradient (llama_forward / llama_backward.cpp)
  if (method === 'lora' && bf16State && device === 'cpu')
    add('LoRA A/B widened + their fp32 gradient', 'workspace', 2, f32 * loraPairFloats(shape, R, targets));
  add('head chunk input + its gradient (chunk,C)', 'workspace', 2, e * chunk * C);
  add('head chunk LoRA u (chunk,R)', 'workspace', 1, e * chunk * Math.max(1, method === 'lora' ? R : 8));
  add('chunk losses', 'workspace', 1, f32 * chunk);
  add('logits chunk (chunk,V)', 'logits', 1, f32 * chunk * V);
  return out;
}

/** GEMM calls re-laying out a weight of at most this many floats keep it in GEMM scratch (GemmScratch, ops/matmul.h). */
export const GEMM_SCRATCH_LIMIT_FLOATS = 2 ** 22;
/** ... when the product has at least this many rows (2 x kBlockM). */
export const GEMM_SCRATCH_MIN_ROWS = 192;
/**
 * With more than one thread, a weight whose packed panels (columns rounded up to 64) take at most this
 * many floats is packed by every thread into panels of its own instead (kThreadPackLimit, ops/matmul.cpp).
 */
export const GEMM_THREAD_PACK_LIMIT_FLOATS = 2 ** 18;

/** matmul_nn sums a long K in ranges for products of at most this many rows (ops/matmul.cpp, k_split). */
export const GEMM_KSPLIT_MAX_ROWS = 384;
const GEMM_KSPLIT_MIN_RANGE = 2048;
const GEMM_KSPLIT_SCRATCH_FLOATS = 2 ** 22;

/**
 * Products with at most this many columns (half an AVX-512 vector; counted on every CPU, an overestimate
 * of a few KiB where AVX2 keeps them direct) and at least GEMM_NARROW_MIN_ROWS rows run transposed
 * (ops/matmul.cpp, narrow).
 */
export const GEMM_NARROW_MAX_COLS = 8;
export const GEMM_NARROW_MIN_ROWS = 64;

/**
 * Floats of partial sums matmul_nn keeps (GemmScratch) for C (rows, n) += A (rows, k) . B (k, n):
 * ranges of max(2048, k * rows * n / 2^22) k, rounded up to 16, when there are at least 2 of them;
 * 0 where it packs B whole or keeps the column grid.
 */
export function gemmKSplitFloats(rows: number, n: number, k: number): number {
  if (rows > GEMM_KSPLIT_MAX_ROWS) return 0;
  if (rows >= GEMM_SCRATCH_MIN_ROWS && n * k <= GEMM_SCRATCH_LIMIT_FLOATS) return 0;
  const range = Math.ceil(Math.max(GEMM_KSPLIT_MIN_RANGE, Math.ceil((k * rows * n) / GEMM_KSPLIT_SCRATCH_FLOATS)) / 16) * 16;
  return k >= 2 * range ? Math.ceil(k / range) * rows * n : 0;
}

/**
 * The CPU engine's untracked GEMM scratch (GemmScratch in ops/matmul.h): matmul_nt keeps
 * an fp32 transpose of the largest weight it multiplies (rows >= 192, weight <= 4M floats) and matmul_nn
 * a widened fp32 copy of the largest bf16 weight of an input gradient; the input gradients with few
 * rows and a long K (the head's) keep their per-range partial sums (gemmKSplitFloats); LoRA's rank-wide
 * products (rank <= 8) run transposed: u^T (r, rows), du^T with B^T (r, rows + out) unless its K is
 * split, dB^T (r, out). One copy per engine (GemmScratch, installed for each call whichever libuv thread
 * runs it), freed with the engine. With threads > 1, the weights of at most GEMM_THREAD_PACK_LIMIT_FLOATS
 * packed floats are packed into each thread's own panels instead (threads x the largest such weight).
 */
export function gemmScratchBytes(inputs: MemoryInputs): number {
  const { shape, method, rank, targets } = inputs;
  const N = inputs.microBatchSize * inputs.rows;
  const chunk = Math.max(1, Math.min(N, Math.floor(LOGITS_CHUNK_FLOATS / shape.vocabSize)));
  const quantized = method === 'lora' && inputs.quantize !== 'none';
  const bf16Frozen = method === 'lora' && inputs.precision !== '32-true';
  const layerAdapted = method === 'lora' ? LINEAR_TARGETS.filter((t) => t !== 'head' && isAdapted(targets, t, shape)) : [];
  const layerBackward = method === 'full' || layerAdapted.length > 0;
  let transposed = 0;
  let widened = 0;
  let split = 0;
  let narrow = 0;
  let perThread = 0;
  const threads = Math.max(1, inputs.threads ?? 1);
  const use = (rows: number, floats: number, kind: 'nt' | 'nn', n: number) => {
    if (rows < GEMM_SCRATCH_MIN_ROWS || floats > GEMM_SCRATCH_LIMIT_FLOATS) return;
    const panels = Math.ceil(n / 64) * 64 * (floats / n);
    if (threads > 1 && panels <= GEMM_THREAD_PACK_LIMIT_FLOATS) perThread = Math.max(perThread, panels);
    else if (kind === 'nt') transposed = Math.max(transposed, floats);
    else widened = Math.max(widened, floats);
  };
  for (const t of LINEAR_TARGETS) {
    const [inFeatures, outFeatures] = linearShape(shape, t);
    const rows = t === 'head' ? chunk : N;
    const frozenWeight = !(t !== 'head' && quantized); // 4-bit linears run their own kernels
    if (frozenWeight) use(rows, inFeatures * outFeatures, 'nt', outFeatures);
    if (frozenWeight && bf16Frozen && (t === 'head' || layerBackward)) use(rows, inFeatures * outFeatures, 'nn', inFeatures);
    if (frozenWeight && (t === 'head' || layerBackward)) split = Math.max(split, gemmKSplitFloats(rows, inFeatures, outFeatures));
    if (method === 'lora' && isAdapted(targets, t, shape)) {
      const narrowRank = rank <= GEMM_NARROW_MAX_COLS;
      if (!narrowRank) use(rows, rank * inFeatures, 'nt', rank); // u = x A^T (transposed, unpacked, when narrow)
      use(rows, outFeatures * rank, 'nt', outFeatures); // out += (s u) B^T
      const duSplit = gemmKSplitFloats(rows, rank, outFeatures);
      split = Math.max(split, duSplit); // du = dout B
      if (narrowRank && rows >= GEMM_NARROW_MIN_ROWS) narrow = Math.max(narrow, rank * rows + (duSplit ? 0 : rank * outFeatures));
      if (narrowRank && outFeatures >= GEMM_NARROW_MIN_ROWS) narrow = Math.max(narrow, rank * outFeatures); // dB
    }
  }
  return 4 * (transposed + widened + split + narrow + threads * perThread);
}

/** Sums buffer groups per category. */
export function sumByCategory(buffers: readonly BufferGroup[]): Record<MemoryCategory, number> {
  const sums = Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as Record<MemoryCategory, number>;
  for (const b of buffers) sums[b.category] += b.count * b.bytes;
  return sums;
}

export function estimateMemory(inputs: MemoryInputs): MemoryEstimate {
  const buffers = trainingBuffers(inputs);
  const bytesByCategory = sumByCategory(buffers);
  const peakBytes = MEMORY_CATEGORIES.reduce((sum, c) => sum + bytesByCategory[c], 0);
  const { shape } = inputs;
  const modelState = bytesByCategory.weights + bytesByCategory.quant_constants;
  const trainState = bytesByCategory.lora_params + bytesByCategory.grads + bytesByCategory.optimizer_state;
  let loadPeakBytes: number;
  let runtimeOverheadBytes: number;
  if (inputs.device === 'cpu') {
    // The checkpoint stays mapped until the engine is built: every page read is resident, next to the
    // weights, the trainable state and (frozen, unquantized) one fp32 copy of the last tensor read.
    const checkpointBytes =
      shape.checkpointBytesPerElement *
      LINEAR_TARGETS.reduce((s, t) => s + baseParamsOf(shape, t), embeddingParams(shape) + normParams(shape));
    const lastTensor = 4 * (shape.tiedEmbeddings ? shape.hiddenSize : matrixElements(shape, 'head'));
    loadPeakBytes = modelState + checkpointBytes + Math.max(trainState, inputs.method === 'lora' ? lastTensor : 0);
    runtimeOverheadBytes = CPU_RUNTIME_BYTES + gemmScratchBytes(inputs);
  } else {
    loadPeakBytes = modelState + trainState;
    runtimeOverheadBytes = CUDA_CONTEXT_BYTES;
  }
  // CPU: the runtime's fixed cost in both phases, the GEMM and LoRA scratch only while stepping
  const processPeakBytes =
    inputs.device === 'cpu'
      ? Math.max(loadPeakBytes + CPU_RUNTIME_BYTES, peakBytes + runtimeOverheadBytes)
      : Math.max(loadPeakBytes, peakBytes) + runtimeOverheadBytes;
  return { layout: inputs.device, bytesByCategory, peakBytes, loadPeakBytes, runtimeOverheadBytes, processPeakBytes, buffers };
}
