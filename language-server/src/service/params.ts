// Trainable and total parameter counts of a Llama-family checkpoint (llama, mistral, qwen2) from its
// config.json, exact per LoRA target (head included) and for a full finetune. No estimator, no I/O.
import type { LoraLabConfig } from '../config';

/** The shape facts of a decoder-only checkpoint that parameter counts depend on. */
export interface ModelShape {
  modelType: string;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  attentionHeads: number;
  keyValueHeads: number;
  headDim: number;
  vocabSize: number;
  tiedEmbeddings: boolean;
  /** Biases on q, k, v (qwen2 always; llama with attention_bias, which also biases o). */
  qkvBias: boolean;
  outputBias: boolean;
  mlpBias: boolean;
}

export type LoraTarget = 'query' | 'key' | 'value' | 'projection' | 'mlp' | 'head';
export const LORA_TARGETS: readonly LoraTarget[] = ['query', 'key', 'value', 'projection', 'mlp', 'head'];

export interface ParameterCounts {
  total: number;
  trainable: number;
  /** LoRA parameters per enabled target (all layers together); empty for method full. */
  perTarget: Partial<Record<LoraTarget, number>>;
}

function positiveInteger(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** Reads a Hugging Face config.json object; null with the reason when a needed field is missing. */
export function modelShape(configJson: unknown): { shape: ModelShape } | { error: string } {
  if (!configJson || typeof configJson !== 'object' || Array.isArray(configJson)) return { error: 'config.json is not a JSON object' };
  const json = configJson as Record<string, unknown>;
  const required = ['hidden_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size'] as const;
  const missing = required.filter((name) => positiveInteger(json[name]) === null);
  if (missing.length) return { error: `config.json lacks a positive integer ${missing.join(', ')}` };
  const hiddenSize = json.hidden_size as number;
  const attentionHeads = json.num_attention_heads as number;
  const headDim = positiveInteger(json.head_dim) ?? hiddenSize / attentionHeads;
  if (!Number.isInteger(headDim)) return { error: `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${attentionHeads} and config.json has no head_dim` };
  const modelType = typeof json.model_type === 'string' ? json.model_type : 'llama';
  const attentionBias = json.attention_bias === true;
  return {
    shape: {
      modelType,
      hiddenSize,
      intermediateSize: positiveInteger(json.intermediate_size) ?? 4 * hiddenSize,
      layers: json.num_hidden_layers as number,
      attentionHeads,
      keyValueHeads: positiveInteger(json.num_key_value_heads) ?? attentionHeads,
      headDim,
      vocabSize: json.vocab_size as number,
      tiedEmbeddings: json.tie_word_embeddings === true,
      qkvBias: modelType === 'qwen2' || attentionBias,
      outputBias: attentionBias,
      mlpBias: json.mlp_bias === true,
    },
  };
}

/** (in, out) features of every linear layer one LoRA target adapts in one decoder layer (or the head). */
export function adaptedLinears(shape: ModelShape, target: LoraTarget): Array<[number, number]> {
  const query = shape.attentionHeads * shape.headDim;
  const keyValue = shape.keyValueHeads * shape.headDim;
  switch (target) {
    case 'query':
      return [[shape.hiddenSize, query]];
    case 'key':
    case 'value':
      return [[shape.hiddenSize, keyValue]];
    case 'projection':
      return [[query, shape.hiddenSize]];
    case 'mlp':
      return [
        [shape.hiddenSize, shape.intermediateSize],
        [shape.hiddenSize, shape.intermediateSize],
        [shape.intermediateSize, shape.hiddenSize],
      ];
    case 'head':
      return [[shape.hiddenSize, shape.vocabSize]];
  }
}

/** Every weight of the checkpoint: embeddings, decoder layers (with biases and norms), final norm, head. */
export function totalParameters(shape: ModelShape): number {
  const { hiddenSize: h, intermediateSize: m, vocabSize: v } = shape;
  const query = shape.attentionHeads * shape.headDim;
  const keyValue = shape.keyValueHeads * shape.headDim;
  const attention = h * query + 2 * h * keyValue + query * h + (shape.qkvBias ? query + 2 * keyValue : 0) + (shape.outputBias ? h : 0);
  const mlp = 3 * h * m + (shape.mlpBias ? 2 * m + h : 0);
  const norms = 2 * h;
  const embedding = v * h;
  return embedding + shape.layers * (attention + mlp + norms) + h + (shape.tiedEmbeddings ? 0 : v * h);
}

/** LoRA parameters (A: r x in, B: out x r) of one target over all layers (the head once). */
export function loraParameters(shape: ModelShape, target: LoraTarget, rank: number): number {
  const perCopy = adaptedLinears(shape, target).reduce((sum, [inFeatures, outFeatures]) => sum + rank * (inFeatures + outFeatures), 0);
  return target === 'head' ? perCopy : perCopy * shape.layers;
}

/** Trainable / total for a resolved config: LoRA adapters on the enabled targets, or every weight for method full. */
export function parameterCounts(shape: ModelShape, config: Pick<LoraLabConfig, 'lora' | 'train'>): ParameterCounts {
  const total = totalParameters(shape);
  if (config.train.method === 'full') return { total, trainable: total, perTarget: {} };
  const perTarget: Partial<Record<LoraTarget, number>> = {};
  let trainable = 0;
  for (const target of LORA_TARGETS) {
    if (!config.lora[target]) continue;
    perTarget[target] = loraParameters(shape, target, config.lora.r);
    trainable += perTarget[target];
  }
  return { total, trainable, perTarget };
}

/** '6,738,415,616' */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

/** '6.74B', '4.19M', '20.3K', '812' */
export function formatCompact(count: number): string {
  const units: Array<[number, string]> = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']];
  for (const [size, suffix] of units) if (Math.abs(count) >= size) return `${Number((count / size).toPrecision(3))}${suffix}`;
  return String(Math.round(count));
}

/** Share of trainable parameters as a percentage with 3 significant digits: '0.0622%'. */
export function formatShare(trainable: number, total: number): string {
  if (total <= 0) return '?';
  return `${Number(((100 * trainable) / total).toPrecision(3))}%`;
}
