// The architecture facts the estimator needs, read from a Hugging Face config.json object the way the
// engine reads it (native/src/io/model_config.cpp): same defaults, same refusals. Pure: no I/O.
import { withCanonicalShapeKeys } from '../config/model-config-keys';

/** The decoder-block layout (native/src/model/config.h ModelFamily): Llama (RMSNorm, SwiGLU), or the
 * parallel-block Phi (LayerNorm, q/k/v/dense/fc1/fc2 with biases, untied head with bias) and Falcon
 * (LayerNorm, fused query_key_value, dense, dense_h_to_4h/dense_4h_to_h, biases when bias: true, tied head). */
export type ModelFamily = 'llama' | 'phi' | 'falcon';

/** Shapes of a supported checkpoint (llama, mistral, qwen2, phi, falcon), with the engine's resolved defaults. */
export interface ModelShape {
  modelType: 'llama' | 'mistral' | 'qwen2' | 'phi' | 'falcon';
  family: ModelFamily;
  vocabSize: number; // V
  hiddenSize: number; // C
  intermediateSize: number; // F
  layers: number; // L
  heads: number; // NH
  kvHeads: number; // NKV
  headDim: number; // HD
  tiedEmbeddings: boolean;
  /** q/k/v biases (Qwen2 always, Phi always, Falcon with bias: true). */
  qkvBias: boolean;
  /** Every block linear has a bias (Phi; Falcon with bias: true). */
  linearBias: boolean;
  /** lm_head.bias (Phi). */
  headBias: boolean;
  /** Norms per layer: 2 (Llama: input + post-attention; falcon-40b: ln_attn + ln_mlp) or 1 (Phi, falcon-7b). */
  normsPerLayer: number;
  /** LayerNorm (weight + bias: Phi, Falcon) rather than RMSNorm (weight). */
  normBias: boolean;
  /** Bytes per element of the stored checkpoint (torch_dtype), for the mapped file during loading. */
  checkpointBytesPerElement: number;
}

export class ModelShapeError extends Error {}

const ARCHITECTURES: Record<string, ModelShape['modelType']> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  PhiForCausalLM: 'phi',
  FalconForCausalLM: 'falcon',
};

function positiveInteger(json: Record<string, unknown>, key: string, fallback?: number): number {
  const value = json[key];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw new ModelShapeError(`config.json lacks ${key}`);
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new ModelShapeError(`config.json: ${key} ${JSON.stringify(value)} must be a positive integer`);
  return value;
}

function dtypeBytes(dtype: unknown): number {
  if (dtype === 'float32') return 4;
  if (dtype === 'bfloat16' || dtype === 'float16') return 2;
  return 2; // Hugging Face checkpoints without torch_dtype are almost always half precision
}

/** Reads config.json (parsed JSON); throws ModelShapeError with the engine's reason when it would refuse it. */
export function readModelShape(configJson: unknown): ModelShape {
  if (!configJson || typeof configJson !== 'object' || Array.isArray(configJson))
    throw new ModelShapeError('config.json is not a JSON object');
  const json = withCanonicalShapeKeys(configJson as Record<string, unknown>);
  const architectures = json.architectures;
  const architecture = Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : undefined;
  if (architecture === 'RWForCausalLM' || json.model_type === 'RefinedWeb' || json.model_type === 'RefinedWebModel')
    throw new ModelShapeError(
      'config.json: the old remote-code Falcon layout (RWForCausalLM) is not supported; use the FalconForCausalLM revision',
    );
  if (json.model_type === 'phi-msft' || json.model_type === 'mixformer-sequential')
    throw new ModelShapeError('config.json: the old remote-code Phi layout (Wqkv) is not supported; use the PhiForCausalLM revision');
  const modelType = architecture
    ? ARCHITECTURES[architecture]
    : (['llama', 'mistral', 'qwen2', 'phi', 'falcon'] as const).find((t) => t === json.model_type);
  if (!modelType)
    throw new ModelShapeError(
      `config.json: architecture ${JSON.stringify(architecture ?? json.model_type)} is not supported (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, PhiForCausalLM, FalconForCausalLM are)`,
    );
  if (modelType === 'phi' || modelType === 'falcon') return readParallelShape(json, modelType);
  if (json.mlp_bias === true) throw new ModelShapeError('config.json: mlp_bias true is not supported (MLP biases are not implemented)');
  if (modelType === 'llama' && json.attention_bias === true)
    throw new ModelShapeError('config.json: attention_bias true is not supported (Llama attention biases are not implemented)');
  const hiddenSize = positiveInteger(json, 'hidden_size');
  const heads = positiveInteger(json, 'num_attention_heads');
  const kvHeads = positiveInteger(json, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0)
    throw new ModelShapeError(`config.json: num_key_value_heads ${kvHeads} must divide num_attention_heads ${heads}`);
  if (json.head_dim === undefined && hiddenSize % heads !== 0)
    throw new ModelShapeError(
      `config.json: hidden_size ${hiddenSize} must be a multiple of num_attention_heads ${heads} when head_dim is not given`,
    );
  return {
    modelType,
    vocabSize: positiveInteger(json, 'vocab_size'),
    hiddenSize,
    intermediateSize: positiveInteger(json, 'intermediate_size'),
    layers: positiveInteger(json, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim: positiveInteger(json, 'head_dim', Math.floor(hiddenSize / heads)),
    tiedEmbeddings: json.tie_word_embeddings === true,
    family: 'llama',
    qkvBias: modelType === 'qwen2',
    linearBias: false,
    headBias: false,
    normsPerLayer: 2,
    normBias: false,
    checkpointBytesPerElement: dtypeBytes(json.torch_dtype ?? json.dtype),
  };
}

/** Phi and Falcon, as the engine's parse_phi / parse_falcon (native/src/io/model_config.cpp) read them. */
function readParallelShape(json: Record<string, unknown>, modelType: 'phi' | 'falcon'): ModelShape {
  if (modelType === 'phi' && json.qk_layernorm === true)
    throw new ModelShapeError('config.json: qk_layernorm true is not supported (the q/k LayerNorms of Phi are not implemented)');
  if (modelType === 'falcon' && json.alibi === true)
    throw new ModelShapeError('config.json: alibi true is not supported (ALiBi position biases are not implemented)');
  if (modelType === 'falcon' && json.apply_residual_connection_post_layernorm === true)
    throw new ModelShapeError('config.json: apply_residual_connection_post_layernorm true is not supported (pre-norm residual only)');
  if (modelType === 'falcon' && json.parallel_attn === false)
    throw new ModelShapeError("config.json: parallel_attn false is not supported (only Falcon's parallel block is implemented)");
  const hiddenSize = positiveInteger(json, 'hidden_size');
  const heads = positiveInteger(json, 'num_attention_heads');
  if (hiddenSize % heads !== 0)
    throw new ModelShapeError(`config.json: hidden_size ${hiddenSize} must be a multiple of num_attention_heads ${heads}`);
  const newArch = json.new_decoder_architecture === true;
  let kvHeads: number;
  let normsPerLayer = 1;
  if (modelType === 'phi') kvHeads = positiveInteger(json, 'num_key_value_heads', heads);
  else if (newArch) {
    kvHeads = positiveInteger(json, 'num_kv_heads', heads);
    normsPerLayer = positiveInteger(json, 'num_ln_in_parallel_attn', 2);
  } else kvHeads = json.multi_query === false ? heads : 1;
  if (heads % kvHeads !== 0) throw new ModelShapeError(`config.json: kv heads ${kvHeads} must divide num_attention_heads ${heads}`);
  const bias = modelType === 'phi' || json.bias === true;
  return {
    modelType,
    family: modelType,
    vocabSize: positiveInteger(json, 'vocab_size'),
    hiddenSize,
    intermediateSize:
      modelType === 'phi' ? positiveInteger(json, 'intermediate_size') : positiveInteger(json, 'ffn_hidden_size', 4 * hiddenSize),
    layers: positiveInteger(json, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim: hiddenSize / heads,
    tiedEmbeddings: modelType === 'falcon' ? json.tie_word_embeddings !== false : json.tie_word_embeddings === true,
    qkvBias: bias,
    linearBias: bias,
    headBias: modelType === 'phi',
    normsPerLayer,
    normBias: true,
    checkpointBytesPerElement: dtypeBytes(json.torch_dtype ?? json.dtype),
  };
}

/** The public Llama-2-7B config.json (meta-llama/Llama-2-7b-hf), the article's model. */
export const LLAMA2_7B_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  vocab_size: 32000,
  max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  hidden_act: 'silu',
  tie_word_embeddings: false,
  torch_dtype: 'float16',
} as const;
