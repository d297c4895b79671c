// Bytes of the trainable state (masters, gradients, optimizer moments) per optimizer and state
// precision, tensor by tensor as the engine allocates them (LlamaModel::collect_trainable): 8-bit
// moments (codes + one fp32 absmax per 256 values) only for tensors of >= 4096 elements.
import type { ModelShape } from './model-shape';
import { embeddingParams, hasLinear, isAdapted, LINEAR_TARGETS, linearShape, type LoraTargets } from './params';

export type OptimizerName = 'adamw' | 'sgd' | 'adamw8bit' | 'sgd8bit';
export type StatePrecision = 'fp32' | 'bf16';

/** Values per fp32 absmax of an 8-bit moment (kDynamicBlock in native/src/quant/dynamic8.h). */
export const DYNAMIC_BLOCK = 256;
/** Tensors under this many elements keep unquantized moments (kMin8bitNumel). */
export const MIN_8BIT_NUMEL = 4096;

/** count tensors of numel elements each. */
export interface TensorGroup {
  numel: number;
  count: number;
}

/**
 * The trainable tensors of a run, one group per tensor shape as the engine's collect_trainable lists
 * them: LoRA A (r, in) and B (out, r) per adapted linear, or in full mode every base tensor (linear
 * weights and biases per family, the embedding, norm weights and LayerNorm biases, an untied head).
 */
export function trainableTensors(shape: ModelShape, method: 'lora' | 'full', rank: number, targets: LoraTargets): TensorGroup[] {
  const out: TensorGroup[] = [];
  for (const t of LINEAR_TARGETS) {
    if (!hasLinear(shape, t)) continue;
    const [inFeatures, outFeatures] = linearShape(shape, t);
    const copies = t === 'head' ? 1 : shape.layers;
    if (method === 'lora') {
      if (!isAdapted(targets, t, shape)) continue;
      out.push({ numel: rank * inFeatures, count: copies }, { numel: outFeatures * rank, count: copies });
    } else if (t !== 'head' || !shape.tiedEmbeddings) {
      out.push({ numel: inFeatures * outFeatures, count: copies });
      const bias = t === 'head' ? shape.headBias : t === 'q' || t === 'k' || t === 'v' ? shape.qkvBias : shape.linearBias;
      if (bias) out.push({ numel: outFeatures, count: copies });
    }
  }
  if (method === 'full') {
    out.push({ numel: embeddingParams(shape), count: 1 });
    const norms = shape.normsPerLayer * shape.layers + 1; // per layer, and the final norm
    out.push({ numel: shape.hiddenSize, count: norms * (shape.normBias ? 2 : 1) });
  }
  return out;
}

export const isAdamw = (o: OptimizerName) => o === 'adamw' || o === 'adamw8bit';
export const is8bit = (o: OptimizerName) => o === 'adamw8bit' || o === 'sgd8bit';

/** Bytes of one tensor's moments: 8-bit codes + absmax, or 4 (fp32) / 2 (bf16) bytes per value per moment. */
export function momentBytes(numel: number, optimizer: OptimizerName, precision: StatePrecision): number {
  const moments = isAdamw(optimizer) ? 2 : 1;
  if (is8bit(optimizer) && numel >= MIN_8BIT_NUMEL) return moments * (numel + 4 * Math.ceil(numel / DYNAMIC_BLOCK));
  return moments * (precision === 'bf16' ? 2 : 4) * numel;
}

export interface TrainableStateBytes {
  masters: number;
  grads: number;
  moments: number;
}

/** Masters (LoRA: 4 or 2 bytes; full mode's fp32 weights are counted as weights), gradients and moments. */
export function trainableStateBytes(
  groups: readonly TensorGroup[],
  optimizer: OptimizerName,
  precision: StatePrecision,
): TrainableStateBytes {
  const element = precision === 'bf16' ? 2 : 4;
  let numel = 0;
  let moments = 0;
  for (const g of groups) {
    numel += g.count * g.numel;
    moments += g.count * momentBytes(g.numel, optimizer, precision);
  }
  return { masters: element * numel, grads: element * numel, moments };
}

/** Floats of the CPU engine's bf16-state scratch: the largest adapted pair's A and B widened (and their gradient). */
export function loraPairFloats(shape: ModelShape, rank: number, targets: LoraTargets): number {
  let widest = 0;
  for (const t of LINEAR_TARGETS) {
    if (!isAdapted(targets, t, shape)) continue;
    const [inFeatures, outFeatures] = linearShape(shape, t);
    widest = Math.max(widest, rank * (inFeatures + outFeatures));
  }
  return widest;
}
