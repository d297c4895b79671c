// One parameter counter: the language service's code lens and hover count with the estimator
// (language-server/src/estimator/params.ts), so they agree on biased checkpoints (Qwen2 q/k/v biases
// counted, Llama attention_bias / mlp_bias refused as the engine refuses them), and every reference
// fixture checkpoint is counted against its real safetensors files (base weights and PEFT adapters).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { countParams, LLAMA2_7B_CONFIG, readModelShape, type LoraTargets } from '../../../language-server/src/estimator';
import { formatCount, formatShare } from '../../../language-server/src/lib/format';
import { analyzeConfig, codeLenses, hover } from '../../../language-server/src/service';
import { workspace } from './memory-workspace';

const ALL = ['query', 'key', 'value', 'projection', 'mlp', 'head'];
const targets = (names: string[]): LoraTargets => Object.fromEntries(ALL.map((t) => [t, names.includes(t)])) as unknown as LoraTargets;

const CONFIG = 'model:\n  checkpoint: ckpt\nlora:\n  r: 8\n  alpha: 16\n  query: true\n  key: true\n  value: true\n';
const QWEN2_BIASED = { ...LLAMA2_7B_CONFIG, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', num_key_value_heads: 8 };

function serviceTitle(checkpointConfig: object): string {
  const analysis = analyzeConfig(CONFIG, '/ws/run.lora.yaml', workspace({ '/ws/ckpt/config.json': JSON.stringify(checkpointConfig) }));
  return codeLenses(analysis)[0].command!.title;
}

test('biased checkpoints: the code lens counts what the estimator counts', () => {
  const counts = countParams(readModelShape(QWEN2_BIASED), 'lora', 8, targets(['query', 'key', 'value']));
  assert.equal(
    serviceTitle(QWEN2_BIASED),
    `Trainable ${formatCount(counts.trainable)} / ${formatCount(counts.base)} parameters (${formatShare(counts.trainable, counts.base)}, LoRA)`,
  );
  // the q/k/v biases are in the base count (32 layers x (4096 + 2 x 1024))
  const unbiased = countParams(
    readModelShape({ ...QWEN2_BIASED, architectures: ['LlamaForCausalLM'], model_type: 'llama' }),
    'lora',
    8,
    targets(['query']),
  );
  assert.equal(counts.base - unbiased.base, 32 * (4096 + 2 * 1024));
});

test("biased Llama: the code lens and the hover give the estimator's (the engine's) answer, not a count", () => {
  for (const [key, why] of [
    ['attention_bias', /attention_bias true is not supported/],
    ['mlp_bias', /mlp_bias true is not supported/],
  ] as const) {
    const biased = { ...LLAMA2_7B_CONFIG, [key]: true };
    assert.throws(() => readModelShape(biased), why);
    const title = serviceTitle(biased);
    assert.match(title, /^Parameters: unknown \(\/ws\/ckpt\/config\.json: /);
    assert.match(title, why);
    const analysis = analyzeConfig(CONFIG, '/ws/run.lora.yaml', workspace({ '/ws/ckpt/config.json': JSON.stringify(biased) }));
    const onRank = JSON.stringify(hover(analysis, { line: 3, character: 3 })?.contents);
    assert.doesNotMatch(onRank, /Trainable with these settings/);
  }
});

/** Element count of every tensor in a safetensors file (header only), excluding names that match `skip`. */
function safetensorsElements(path: string): Map<string, number> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { shape: number[] }>;
  const counts = new Map<string, number>();
  for (const [name, entry] of Object.entries(header))
    if (name !== '__metadata__')
      counts.set(
        name,
        entry.shape.reduce((a, b) => a * b, 1),
      );
  return counts;
}

const FIXTURES = join(__dirname, '../../reference/fixtures');

for (const name of readdirSync(FIXTURES)
  .filter((entry) => !entry.startsWith('.'))
  .sort()) {
  test(`fixture ${name}: totals and LoRA counts match its safetensors`, () => {
    const folder = join(FIXTURES, name);
    const shape = readModelShape(JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8')));
    // The model's weights: the shards its index names, or model.safetensors (goldens lie beside them).
    const index = readdirSync(folder).includes('model.safetensors.index.json')
      ? (JSON.parse(readFileSync(join(folder, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> })
      : null;
    const files = index ? [...new Set(Object.values(index.weight_map))] : ['model.safetensors'];
    let total = 0;
    for (const file of files) for (const count of safetensorsElements(join(folder, file)).values()) total += count;
    assert.equal(countParams(shape, 'full', 8, targets([])).base, total);
    const adapter = JSON.parse(readFileSync(join(folder, 'adapter/adapter_config.json'), 'utf8')) as {
      r: number;
      target_modules: string[];
    };
    const moduleToTarget: Record<string, string> = {
      q_proj: 'query',
      k_proj: 'key',
      v_proj: 'value',
      o_proj: 'projection',
      gate_proj: 'mlp',
      lm_head: 'head',
      dense: 'projection', // Phi, Falcon
      fc1: 'mlp', // Phi
      query_key_value: 'query', // Falcon: the fused q/k/v
      dense_h_to_4h: 'mlp', // Falcon
    };
    const adapted = adapter.target_modules.map((module) => moduleToTarget[module]).filter(Boolean);
    let adapterTotal = 0;
    for (const count of safetensorsElements(join(folder, 'adapter/adapter_model.safetensors')).values()) adapterTotal += count;
    assert.equal(countParams(shape, 'lora', adapter.r, targets(adapted)).trainable, adapterTotal);
  });
}
