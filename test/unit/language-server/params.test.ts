// Parameter counts: the Llama-2-7B numbers of the article, and every reference fixture checkpoint
// counted against its real safetensors files (base weights and PEFT adapters).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loraParameters, modelShape, parameterCounts, totalParameters, formatCompact, formatShare, type ModelShape } from '../../../language-server/src/service/params';

const LLAMA2_7B = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_attention_heads: 32,
  num_hidden_layers: 32, num_key_value_heads: 32, vocab_size: 32000, tie_word_embeddings: false, rms_norm_eps: 1e-5,
};

function shapeOf(json: unknown): ModelShape {
  const result = modelShape(json);
  if ('error' in result) throw new Error(result.error);
  return result.shape;
}

const lora = (r: number, targets: string[]) => ({
  lora: { r, alpha: 2 * r, dropout: 0.05, rslora: false, ...Object.fromEntries(['query', 'key', 'value', 'projection', 'mlp', 'head'].map((t) => [t, targets.includes(t)])) } as never,
  train: { method: 'lora' } as never,
});
const ALL = ['query', 'key', 'value', 'projection', 'mlp', 'head'];

test('Llama-2-7B: total and the article\'s LoRA counts', () => {
  const shape = shapeOf(LLAMA2_7B);
  assert.equal(totalParameters(shape), 6_738_415_616);
  assert.equal(parameterCounts(shape, lora(8, ['query', 'value'])).trainable, 4_194_304);
  assert.equal(parameterCounts(shape, lora(8, ALL)).trainable, 20_277_248);
  assert.equal(parameterCounts(shape, lora(16, ALL)).trainable, 40_554_496);
  assert.equal(parameterCounts(shape, lora(256, ALL)).trainable, 648_871_936);
  assert.equal(loraParameters(shape, 'head', 8), 8 * (4096 + 32000));
  const full = parameterCounts(shape, { lora: lora(8, ALL).lora, train: { method: 'full' } as never });
  assert.deepEqual([full.trainable, full.total], [6_738_415_616, 6_738_415_616]);
  assert.equal(formatCompact(6_738_415_616), '6.74B');
  assert.equal(formatShare(4_194_304, 6_738_415_616), '0.0622%');
});

test('modelShape names what config.json lacks', () => {
  assert.match((modelShape({ hidden_size: 64 }) as { error: string }).error, /num_hidden_layers, num_attention_heads, vocab_size/);
  assert.match((modelShape([1]) as { error: string }).error, /not a JSON object/);
  assert.match((modelShape({ ...LLAMA2_7B, num_attention_heads: 3 }) as { error: string }).error, /not divisible/);
});

/** Element count of every tensor in a safetensors file (header only), excluding names that match `skip`. */
function safetensorsElements(path: string): Map<string, number> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { shape: number[] }>;
  const counts = new Map<string, number>();
  for (const [name, entry] of Object.entries(header)) if (name !== '__metadata__') counts.set(name, entry.shape.reduce((a, b) => a * b, 1));
  return counts;
}

const FIXTURES = join(__dirname, '../../reference/fixtures');

for (const name of readdirSync(FIXTURES).filter((entry) => !entry.startsWith('.')).sort()) {
  test(`fixture ${name}: totals and LoRA counts match its safetensors`, () => {
    const folder = join(FIXTURES, name);
    const shape = shapeOf(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')));
    // The model's weights: the shards its index names, or model.safetensors (goldens lie beside them).
    const index = readdirSync(folder).includes('model.safetensors.index.json')
      ? (JSON.parse(readFileSync(join(folder, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> })
      : null;
    const files = index ? [...new Set(Object.values(index.weight_map))] : ['model.safetensors'];
    let total = 0;
    for (const file of files) for (const count of safetensorsElements(join(folder, file)).values()) total += count;
    assert.equal(totalParameters(shape), total);
    const adapter = JSON.parse(readFileSync(join(folder, 'adapter/adapter_config.json'), 'utf8')) as { r: number; target_modules: string[] };
    const moduleToTarget: Record<string, string> = { q_proj: 'query', k_proj: 'key', v_proj: 'value', o_proj: 'projection', gate_proj: 'mlp', lm_head: 'head' };
    const targets = adapter.target_modules.map((module) => moduleToTarget[module]).filter(Boolean);
    let adapterTotal = 0;
    for (const count of safetensorsElements(join(folder, 'adapter/adapter_model.safetensors')).values()) adapterTotal += count;
    assert.equal(parameterCounts(shape, lora(adapter.r, targets)).trainable, adapterTotal);
  });
}
