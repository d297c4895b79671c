// Training time: FLOPs per token of the engine's forward and backward (matmuls, causal attention,
// LoRA paths, recompute under checkpointing) x tokens per step x steps / the device's measured FLOP/s.
import type { ModelShape } from './model-shape';
import { isAdapted, LINEAR_TARGETS, linearShape, type LoraTargets } from './params';

/** A device's measured training throughput (lora-lab calibrate). */
export interface Calibration {
  /** Useful FLOPs per second (this model's FLOP count / measured step time) on the calibration runs. */
  flopsPerSecond: number;
  /** Rates of the three kinds of work where the calibration separated them (else flopsPerSecond). */
  matmulForwardFlopsPerSecond?: number;
  matmulBackwardFlopsPerSecond?: number;
  attentionFlopsPerSecond?: number;
  /** Where it was measured, e.g. 'cpu-avx512 (AMD EPYC ..., 2 threads)'. */
  device?: string;
  measuredAt?: string;
}

export interface TimeInputs {
  shape: ModelShape;
  method: 'lora' | 'full';
  rank: number;
  targets: LoraTargets;
  gradientCheckpointing: boolean;
  /** Token rows per example in the engine (the longest example after truncation, minus one). */
  rows: number;
  globalBatchSize: number;
  /** Optimizer steps, or null when the number of training examples is unknown. */
  steps: number | null;
}

export interface TimeEstimate {
  flopsPerToken: number;
  forwardFlopsPerToken: number;
  tokensPerStep: number;
  steps: number | null;
  /** null without a calibration or without a step count. */
  seconds: number | null;
  calibrated: boolean;
  flopsPerSecond: number | null;
}

/** FLOPs of one token through one decoder layer's linears (2 per multiply-add). */
function layerMatmulFlops(shape: ModelShape): number {
  return LINEAR_TARGETS.filter((t) => t !== 'head').reduce((sum, t) => {
    const [inFeatures, outFeatures] = linearShape(shape, t);
    return sum + 2 * inFeatures * outFeatures;
  }, 0);
}

/** FLOPs per token of a training step, split by the kind of kernel that runs them. */
export interface FlopsPerToken {
  total: number;
  /** The forward pass alone (what evaluation costs). */
  forward: number;
  /** Forward GEMMs of the linears and LoRA paths, recompute under checkpointing included. */
  matmulForward: number;
  /** Backward GEMMs: input gradients, weight gradients (full), LoRA gradients. */
  matmulBackward: number;
  /** Causal attention, forward (and its recompute) and backward. */
  attention: number;
}

/** FLOPs per token of the engine's training step (forward + backward + recompute). */
export function trainingFlopsPerToken(inputs: TimeInputs): FlopsPerToken {
  const { shape, method, rank, targets } = inputs;
  const L = shape.layers;
  const QD = shape.heads * shape.headDim;
  const layerLinear = layerMatmulFlops(shape);
  const [headIn, headOut] = linearShape(shape, 'head');
  const headLinear = 2 * headIn * headOut;
  // causal attention: QK^T and PV over (T + 1) / 2 keys on average
  const attentionForward = 4 * QD * ((inputs.rows + 1) / 2);
  const loraForward = (t: (typeof LINEAR_TARGETS)[number]) => {
    if (method !== 'lora' || !isAdapted(targets, t, shape)) return 0;
    const [inFeatures, outFeatures] = linearShape(shape, t);
    return 2 * rank * (inFeatures + outFeatures);
  };
  const layerLora = LINEAR_TARGETS.filter((t) => t !== 'head').reduce((s, t) => s + loraForward(t), 0);
  // backward: input gradients (1x the forward matmuls), weight gradients in full mode (another 1x),
  // LoRA grads (dB, dU, dA, dX: 2x the LoRA forward), attention backward (recomputed scores, dq, dk, dv)
  const backwardLayers = method === 'full' || layerLora > 0 ? L : 0;
  const weightGrads = method === 'full' ? 1 : 0;
  const recomputedLayers = inputs.gradientCheckpointing ? backwardLayers : 0;
  const matmulForward = (L + recomputedLayers) * (layerLinear + layerLora) + headLinear + loraForward('head');
  const matmulBackward =
    backwardLayers * (layerLinear * (1 + weightGrads) + 2 * layerLora) + headLinear * (1 + weightGrads) + 2 * loraForward('head');
  const attention = (L + recomputedLayers) * attentionForward + backwardLayers * 2.5 * attentionForward;
  const forward = L * (layerLinear + layerLora + attentionForward) + headLinear + loraForward('head');
  return { total: matmulForward + matmulBackward + attention, forward, matmulForward, matmulBackward, attention };
}

/** Seconds per token on a calibrated device: each kind of FLOP at its own measured rate (or the overall one). */
export function secondsPerToken(flops: FlopsPerToken, calibration: Calibration): number {
  const rate = (specific: number | undefined) => (specific && specific > 0 ? specific : calibration.flopsPerSecond);
  return (
    flops.matmulForward / rate(calibration.matmulForwardFlopsPerSecond) +
    flops.matmulBackward / rate(calibration.matmulBackwardFlopsPerSecond) +
    flops.attention / rate(calibration.attentionFlopsPerSecond)
  );
}

export function estimateTime(inputs: TimeInputs, calibration: Calibration | null | undefined): TimeEstimate {
  const flops = trainingFlopsPerToken(inputs);
  const tokensPerStep = inputs.globalBatchSize * inputs.rows;
  const flopsPerSecond = calibration && calibration.flopsPerSecond > 0 ? calibration.flopsPerSecond : null;
  const seconds =
    calibration && flopsPerSecond !== null && inputs.steps !== null
      ? secondsPerToken(flops, calibration) * tokensPerStep * inputs.steps
      : null;
  return {
    flopsPerToken: flops.total,
    forwardFlopsPerToken: flops.forward,
    tokensPerStep,
    steps: inputs.steps,
    seconds,
    calibrated: flopsPerSecond !== null,
    flopsPerSecond,
  };
}
