// Training time: one step's work (step-work.ts: GEMM, LoRA and attention FLOPs, weight passes,
// elementwise values, state bytes, layer passes) priced at this device's calibrated cost of each kind
// (lora-lab calibrate fits them), times the step count.
import { isAdapted, LINEAR_TARGETS, linearShape } from './params';
import { stepWork, WORK_TERMS, workSeconds, type StepInputs, type WorkCosts, type WorkTerm } from './step-work';

/** A device's measured training throughput (lora-lab calibrate). */
export interface Calibration {
  /** Useful FLOPs per second (this model's FLOP count / measured step time) on the first calibration run. */
  flopsPerSecond: number;
  /**
   * Seconds per unit of each kind of work (step-work.ts), fitted to the calibration runs. Without it
   * (calibrations before these terms, or written by hand) only the FLOPs are priced, at the rates below.
   */
  costs?: WorkCosts;
  /** Rates of the kinds of FLOPs where an older calibration separated them (else flopsPerSecond). */
  matmulForwardFlopsPerSecond?: number;
  matmulBackwardFlopsPerSecond?: number;
  attentionFlopsPerSecond?: number;
  /** Where it was measured, e.g. 'cpu-avx512 (AMD EPYC ..., 2 threads)'. */
  device?: string;
  measuredAt?: string;
}

export interface TimeInputs extends StepInputs {
  /** Optimizer steps, or null when the number of training examples is unknown. */
  steps: number | null;
}

export interface TimeEstimate {
  flopsPerToken: number;
  forwardFlopsPerToken: number;
  tokensPerStep: number;
  steps: number | null;
  /** Predicted seconds of one optimizer step; null without a calibration. */
  secondsPerStep: number | null;
  /** null without a calibration or without a step count. */
  seconds: number | null;
  calibrated: boolean;
  /** The step's FLOPs over its predicted seconds (all work included); null without a calibration. */
  flopsPerSecond: number | null;
  /** Predicted seconds per step by kind of work (zero where the calibration has no cost for it). */
  secondsByTerm: Partial<Record<WorkTerm, number>>;
}

/** FLOPs per token of a training step, split by the kind of kernel that runs them. */
export interface FlopsPerToken {
  total: number;
  /** The forward pass alone (what evaluation costs). */
  forward: number;
  /** GEMMs through the base weights (dense or 4-bit), recompute and weight gradients included. */
  matmul: number;
  /** LoRA's rank-r products, forward and backward. */
  lora: number;
  /** Causal attention, forward (and its recompute) and backward. */
  attention: number;
}

/** FLOPs per token of the engine's training step (forward + backward + recompute). */
export function trainingFlopsPerToken(inputs: StepInputs): FlopsPerToken {
  const tokens = inputs.globalBatchSize * inputs.rows;
  const w = stepWork(inputs);
  return {
    total: (w.denseGemmFlops + w.quantGemmFlops + w.loraFlops + w.attentionFlops) / tokens,
    forward: forwardFlopsPerToken(inputs),
    matmul: (w.denseGemmFlops + w.quantGemmFlops) / tokens,
    lora: w.loraFlops / tokens,
    attention: w.attentionFlops / tokens,
  };
}

/** FLOPs per token of the forward pass alone (what evaluation costs): linears, LoRA paths, causal attention, head. */
function forwardFlopsPerToken(inputs: StepInputs): number {
  const { shape, method, rank, targets } = inputs;
  let perToken = 4 * shape.heads * shape.headDim * ((inputs.rows + 1) / 2) * shape.layers;
  for (const t of LINEAR_TARGETS) {
    const [inFeatures, outFeatures] = linearShape(shape, t);
    const lora = method === 'lora' && isAdapted(targets, t, shape) ? 2 * rank * (inFeatures + outFeatures) : 0;
    perToken += (t === 'head' ? 1 : shape.layers) * (2 * inFeatures * outFeatures + lora);
  }
  return perToken;
}

/** The costs an estimate prices a step with: the calibration's fitted ones, or its FLOP rates alone. */
export function workCosts(calibration: Calibration): WorkCosts {
  if (calibration.costs) return calibration.costs;
  const perFlop = (rate: number | undefined) => 1 / (rate && rate > 0 ? rate : calibration.flopsPerSecond);
  const gemm = perFlop(calibration.matmulForwardFlopsPerSecond);
  return { denseGemmFlops: gemm, quantGemmFlops: gemm, loraFlops: gemm, attentionFlops: perFlop(calibration.attentionFlopsPerSecond) };
}

/** Predicted seconds of one optimizer step of `inputs` on a calibrated device. */
export function stepSeconds(inputs: StepInputs, calibration: Calibration): number {
  return workSeconds(stepWork(inputs), workCosts(calibration));
}

export function estimateTime(inputs: TimeInputs, calibration: Calibration | null | undefined): TimeEstimate {
  const flops = trainingFlopsPerToken(inputs);
  const tokensPerStep = inputs.globalBatchSize * inputs.rows;
  const calibrated = !!calibration && calibration.flopsPerSecond > 0;
  const work = stepWork(inputs);
  const costs = calibrated ? workCosts(calibration) : {};
  const secondsPerStep = calibrated ? workSeconds(work, costs) : null;
  const secondsByTerm: Partial<Record<WorkTerm, number>> = {};
  for (const t of WORK_TERMS) if (calibrated) secondsByTerm[t] = work[t] * (costs[t] ?? 0);
  return {
    flopsPerToken: flops.total,
    forwardFlopsPerToken: flops.forward,
    tokensPerStep,
    steps: inputs.steps,
    secondsPerStep,
    seconds: secondsPerStep !== null && inputs.steps !== null ? secondsPerStep * inputs.steps : null,
    calibrated,
    flopsPerSecond: secondsPerStep ? (flops.total * tokensPerStep) / secondsPerStep : null,
    secondsByTerm,
  };
}
