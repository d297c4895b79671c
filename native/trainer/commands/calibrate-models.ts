// The generated checkpoints `lora-lab calibrate` measures on: a wide model (GEMMs dominate) and a narrow
// one (elementwise work and attention weigh more), written as random bf16 Llama checkpoints.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type NamedTensor } from '../io/safetensors';

export interface CalibrationModel {
  hidden: number;
  intermediate: number;
  layers: number;
  vocab: number;
}

/** Full: ~29M and ~2M parameters (steps of 10-400 ms on one core); quick (tests): two tiny ones. */
export const CALIBRATION_MODELS: Record<'full' | 'quick', Record<'main' | 'small', CalibrationModel>> = {
  full: {
    main: { hidden: 1024, intermediate: 2752, layers: 2, vocab: 4096 },
    small: { hidden: 256, intermediate: 688, layers: 2, vocab: 2048 },
  },
  quick: {
    main: { hidden: 128, intermediate: 344, layers: 1, vocab: 512 },
    small: { hidden: 128, intermediate: 344, layers: 2, vocab: 512 },
  },
};

/** A random bf16 Llama checkpoint (config.json + model.safetensors) in `dir`; no tokenizer is needed to train on ids. */
export function writeCalibrationModel(dir: string, m: CalibrationModel): void {
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 4294967296 - 0.5) * 0.04;
  };
  const tensor = (name: string, shape: number[], fill?: number): NamedTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill ?? random();
    return { name, shape, data };
  };
  const heads = m.hidden / 64;
  const tensors = [tensor('model.embed_tokens.weight', [m.vocab, m.hidden])];
  for (let l = 0; l < m.layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      tensor(`${p}.input_layernorm.weight`, [m.hidden], 1),
      tensor(`${p}.self_attn.q_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.self_attn.k_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.self_attn.v_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.self_attn.o_proj.weight`, [m.hidden, m.hidden]),
      tensor(`${p}.post_attention_layernorm.weight`, [m.hidden], 1),
      tensor(`${p}.mlp.gate_proj.weight`, [m.intermediate, m.hidden]),
      tensor(`${p}.mlp.up_proj.weight`, [m.intermediate, m.hidden]),
      tensor(`${p}.mlp.down_proj.weight`, [m.hidden, m.intermediate]),
    );
  }
  tensors.push(tensor('model.norm.weight', [m.hidden], 1), tensor('lm_head.weight', [m.vocab, m.hidden]));
  writeSafetensors(join(dir, 'model.safetensors'), tensors, 'BF16');
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: m.vocab,
    hidden_size: m.hidden,
    intermediate_size: m.intermediate,
    num_hidden_layers: m.layers,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    torch_dtype: 'bfloat16',
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
}
