// The bundled tiny model (examples/tiny-llama): a Llama-architecture HF folder of 1-10M
// parameters that answers >= 60% of the held-out 2-digit addition/subtraction questions exactly
// (greedy) before any finetuning, and loads and generates through the CLI.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { heldOutAccuracy, TINY_ARCHITECTURE } from '../../../scripts/tiny-model/pretrain';
import { runCli } from '../helpers/run-cli';
import { safetensorsHeader } from '../helpers/safetensors-header';

const root = join(__dirname, '../../..');
const model = join(root, 'examples/tiny-llama');

test('the bundled model is a Llama HF folder of 1-10M parameters with the bundled architecture', () => {
  const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['LlamaForCausalLM']);
  for (const [key, value] of Object.entries(TINY_ARCHITECTURE)) assert.equal(config[key], value, key);
  const header = safetensorsHeader(join(model, 'model.safetensors'));
  const params = Object.values(header).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  assert.ok(params >= 1e6 * 0.5 && params <= 10e6, `${params} parameters`);
  assert.ok(Object.values(header).every((t) => t.dtype === 'BF16'));
});

test('it answers >= 60% of the held-out 2-digit arithmetic questions exactly (greedy)', { timeout: 300_000 }, async () => {
  const { correct, total } = await heldOutAccuracy(model, join(root, 'examples/data/eval/arithmetic_2ds_heldout.jsonl'), Infinity, 2);
  assert.equal(total, 200);
  console.log(`held-out 2-digit arithmetic: ${correct}/${total} exact`);
  assert.ok(correct / total >= 0.6, `${correct}/${total}`);
});

test('the CLI loads it and generates', () => {
  const r = runCli(['generate', '--checkpoint', model, '--prompt', 'Question: What is 12 plus 30?\nAnswer:', '--max-new-tokens', '4']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ ?-?\d+/);
});
