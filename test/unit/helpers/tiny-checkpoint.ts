// Builds tiny random Llama checkpoints in Hugging Face layout for tests: config.json,
// model.safetensors (fp32 or bf16, through the trainer's safetensors writer) and the
// bundled tiny tokenizer's files (examples/tiny-llama), so the trainer sees a real folder.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../../native/trainer/io/safetensors';

export interface TinyModelShape {
  vocabSize?: number;
  hiddenSize?: number;
  intermediateSize?: number;
  numLayers?: number;
  numHeads?: number;
  numKvHeads?: number;
  tied?: boolean;
  dtype?: 'F32' | 'BF16';
  seed?: number;
}

const repoRoot = join(__dirname, '../../..');
export const TINY_TOKENIZER_DIR = join(repoRoot, 'examples/tiny-llama');

function gaussian(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** Writes a random tiny Llama with the bundled tokenizer into `dir`; returns `dir`. */
export function makeTinyCheckpoint(dir: string, shape: TinyModelShape = {}): string {
  const vocab = shape.vocabSize ?? 2048;
  const hidden = shape.hiddenSize ?? 32;
  const ff = shape.intermediateSize ?? 64;
  const layers = shape.numLayers ?? 2;
  const heads = shape.numHeads ?? 4;
  const kvHeads = shape.numKvHeads ?? 2;
  const headDim = hidden / heads;
  const tied = shape.tied ?? false;
  const randn = gaussian(shape.seed ?? 7);
  const tensor = (name: string, dims: number[], scale = 0.02, constant?: number) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = constant ?? randn() * scale;
    return { name, shape: dims, data };
  };
  const tensors = [tensor('model.embed_tokens.weight', [vocab, hidden])];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      tensor(`${p}.input_layernorm.weight`, [hidden], 0, 1),
      tensor(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden]),
      tensor(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden]),
      tensor(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden]),
      tensor(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim]),
      tensor(`${p}.post_attention_layernorm.weight`, [hidden], 0, 1),
      tensor(`${p}.mlp.gate_proj.weight`, [ff, hidden]),
      tensor(`${p}.mlp.up_proj.weight`, [ff, hidden]),
      tensor(`${p}.mlp.down_proj.weight`, [hidden, ff]),
    );
  }
  tensors.push(tensor('model.norm.weight', [hidden], 0, 1));
  if (!tied) tensors.push(tensor('lm_head.weight', [vocab, hidden]));
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, shape.dtype ?? 'F32');
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: ff,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    hidden_act: 'silu',
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: tied,
    torch_dtype: shape.dtype === 'BF16' ? 'bfloat16' : 'float32',
    bos_token_id: 1,
    eos_token_id: 2,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
    if (existsSync(join(TINY_TOKENIZER_DIR, file))) copyFileSync(join(TINY_TOKENIZER_DIR, file), join(dir, file));
  }
  return dir;
}
