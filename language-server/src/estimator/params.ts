// Parameter counts from shapes alone, exactly as the engine's count_parameters (llama_weights.cpp):
// the base model, LoRA A (r, in) + B (out, r) per adapted linear, every weight trainable in full mode.
// Per family the keys name the engine's roles: Phi q/k/v/o=dense/up=fc1/down=fc2 (no gate); Falcon
// q = the fused query_key_value (adapted when any of query/key/value is), o=dense, up/down (no k, v, gate).
import type { LoraLabConfig } from '../config/types';
import type { ModelShape } from './model-shape';

/** The engine's per-target keys (PeftModule order). */
export type LinearTarget = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down' | 'head';
export const LINEAR_TARGETS: readonly LinearTarget[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'head'];

/** Which linears get adapters: the config's lora section (query, key, value, projection, mlp, head). */
export type LoraTargets = Pick<LoraLabConfig['lora'], 'query' | 'key' | 'value' | 'projection' | 'mlp' | 'head'>;

export interface ParamEstimate {
  /** The engine's total: base model + LoRA parameters in LoRA mode. */
  total: number;
  /** The checkpoint's own parameters (what the article calls the model size: 6,738,415,616 for Llama-2-7B). */
  base: number;
  trainable: number;
  /** Per engine key; full mode adds 'embed' and 'norm' (biases are counted with q/k/v). */
  trainableByTarget: Record<string, number>;
}

/** Whether the family has this linear (Falcon fuses k and v into q; Phi and Falcon have no gate). */
export function hasLinear(shape: ModelShape, target: LinearTarget): boolean {
  if (target === 'gate') return shape.family === 'llama';
  if (target === 'k' || target === 'v') return shape.family !== 'falcon';
  return true;
}

/** Whether the config's lora switches adapt this linear; with a shape, on that family's layers. */
export function isAdapted(targets: LoraTargets, target: LinearTarget, shape?: ModelShape): boolean {
  if (shape && !hasLinear(shape, target)) return false;
  if (shape?.family === 'falcon' && target === 'q') return targets.query || targets.key || targets.value;
  switch (target) {
    case 'q':
      return targets.query;
    case 'k':
      return targets.key;
    case 'v':
      return targets.value;
    case 'o':
      return targets.projection;
    case 'gate':
    case 'up':
    case 'down':
      return targets.mlp;
    case 'head':
      return targets.head;
  }
}

/** [in, out] features of a linear (the head once, the others per layer); [0, 0] where the family has none. */
export function linearShape(shape: ModelShape, target: LinearTarget): [number, number] {
  const query = shape.heads * shape.headDim;
  const keyValue = shape.kvHeads * shape.headDim;
  if (!hasLinear(shape, target)) return [0, 0];
  switch (target) {
    case 'q':
      return [shape.hiddenSize, shape.family === 'falcon' ? query + 2 * keyValue : query];
    case 'k':
    case 'v':
      return [shape.hiddenSize, keyValue];
    case 'o':
      return [query, shape.hiddenSize];
    case 'gate':
    case 'up':
      return [shape.hiddenSize, shape.intermediateSize];
    case 'down':
      return [shape.intermediateSize, shape.hiddenSize];
    case 'head':
      return [shape.hiddenSize, shape.vocabSize];
  }
}

/** Base parameters of one target over the model (weights + biases); the tied head has none of its own. */
export function baseParamsOf(shape: ModelShape, target: LinearTarget): number {
  const [inFeatures, outFeatures] = linearShape(shape, target);
  if (target === 'head') return shape.tiedEmbeddings ? 0 : inFeatures * outFeatures + (shape.headBias ? outFeatures : 0);
  const qkv = target === 'q' || target === 'k' || target === 'v';
  const bias = (qkv ? shape.qkvBias : shape.linearBias) ? outFeatures : 0;
  return shape.layers * (inFeatures * outFeatures + bias);
}

/** Every bias of the model (counted with its linear by baseParamsOf; held in fp32 by the engine). */
export function biasParams(shape: ModelShape): number {
  let n = 0;
  for (const t of LINEAR_TARGETS) {
    const out = linearShape(shape, t)[1];
    if (t === 'head') n += shape.tiedEmbeddings || !shape.headBias ? 0 : out;
    else if ((t === 'q' || t === 'k' || t === 'v' ? shape.qkvBias : shape.linearBias) && hasLinear(shape, t)) n += shape.layers * out;
  }
  return n;
}

export function embeddingParams(shape: ModelShape): number {
  return shape.vocabSize * shape.hiddenSize;
}

/** Norm weights (and LayerNorm biases): normsPerLayer per layer and the final norm. */
export function normParams(shape: ModelShape): number {
  return (shape.normsPerLayer * shape.layers + 1) * shape.hiddenSize * (shape.normBias ? 2 : 1);
}

export function baseParams(shape: ModelShape): number {
  return embeddingParams(shape) + normParams(shape) + LINEAR_TARGETS.reduce((sum, t) => sum + baseParamsOf(shape, t), 0);
}

/** LoRA parameters of one target: r (in + out) per adapted copy (L copies, the head once). */
export function loraParamsOf(shape: ModelShape, target: LinearTarget, rank: number): number {
  const [inFeatures, outFeatures] = linearShape(shape, target);
  return (target === 'head' ? 1 : shape.layers) * rank * (inFeatures + outFeatures);
}

export function countParams(shape: ModelShape, method: 'lora' | 'full', rank: number, targets: LoraTargets): ParamEstimate {
  const base = baseParams(shape);
  const trainableByTarget: Record<string, number> = {};
  if (method === 'full') {
    for (const t of LINEAR_TARGETS) if (hasLinear(shape, t)) trainableByTarget[t] = baseParamsOf(shape, t);
    trainableByTarget.embed = embeddingParams(shape);
    trainableByTarget.norm = normParams(shape);
    return { total: base, base, trainable: base, trainableByTarget };
  }
  let trainable = 0;
  for (const t of LINEAR_TARGETS) {
    if (!isAdapted(targets, t, shape)) continue;
    trainableByTarget[t] = loraParamsOf(shape, t, rank);
    trainable += trainableByTarget[t];
  }
  return { total: base + trainable, base, trainable, trainableByTarget };
}

/** The Hugging Face module names (PEFT target_modules) a config switch adapts on a family's layers, as the
 * engine's lora_config_from_options maps them; Falcon's query, key and value all mean the fused query_key_value. */
export function adaptedModules(family: ModelShape['family'], target: keyof LoraTargets): string[] {
  const names: Record<ModelShape['family'], Record<keyof LoraTargets, string[]>> = {
    llama: {
      query: ['q_proj'],
      key: ['k_proj'],
      value: ['v_proj'],
      projection: ['o_proj'],
      mlp: ['gate_proj', 'up_proj', 'down_proj'],
      head: ['lm_head'],
    },
    phi: { query: ['q_proj'], key: ['k_proj'], value: ['v_proj'], projection: ['dense'], mlp: ['fc1', 'fc2'], head: ['lm_head'] },
    falcon: {
      query: ['query_key_value'],
      key: ['query_key_value'],
      value: ['query_key_value'],
      projection: ['dense'],
      mlp: ['dense_h_to_4h', 'dense_4h_to_h'],
      head: ['lm_head'],
    },
  };
  return names[family][target];
}
