// The config language on Phi and Falcon checkpoints: the lora target hovers name the family's layers
// (fc1/fc2, dense, Falcon's fused query_key_value), a hint when only some of lora.query / key / value
// are set on Falcon (the fused layer adapts all three), and the rank check against the fused width.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeConfig, hover } from '../../../language-server/src/service';
import { workspace } from './memory-workspace';

const CONFIGS = join(__dirname, '../../fixtures/model-configs');
const checkpoint = (name: string) => ({ '/ws/ckpt/config.json': readFileSync(join(CONFIGS, `${name}.json`), 'utf8') });

function analyse(lora: string, model: string) {
  return analyzeConfig(
    `model:\n  checkpoint: ckpt\nlora:\n  r: 8\n  alpha: 16\n${lora}`,
    '/ws/run.lora.yaml',
    workspace(checkpoint(model)),
  );
}
const hints = (lora: string, model: string) =>
  analyse(lora, model)
    .parsed.problems.filter((p) => p.code === 'falcon-fused-qkv')
    .map((p) => [p.severity, p.key]);

test('Falcon: a hint on each of lora.query / key / value that is set when not all three are', () => {
  // the defaults: query and value on, key off
  assert.deepEqual(hints('', 'falcon-7b'), [
    ['hint', 'lora.query'],
    ['hint', 'lora.value'],
  ]);
  const only = analyse('  query: true\n  value: false\n', 'falcon-40b').parsed.problems.find((p) => p.code === 'falcon-fused-qkv');
  assert.match(only!.message, /fused query_key_value, which also computes key and value/);
  assert.deepEqual(hints('  key: true\n', 'falcon-7b'), []);
  assert.deepEqual(hints('  query: false\n  value: false\n  mlp: true\n', 'falcon-7b'), []);
  assert.deepEqual(hints('', 'phi-1_5'), []);
});

test('hover on a lora target names the layers it adapts on this family', () => {
  const text = (model: string, key: string, lora = '  mlp: true\n') => {
    const analysis = analyse(lora, model);
    const line = analysis.parsed.locations.get(key)!.keyRange.start;
    const contents = hover(analysis, { line: line.line, character: line.character + 1 })?.contents as { value: string } | undefined;
    // the Markdown as it reads: the escapes (dense\_h\_to...) removed
    return (contents?.value ?? '').replace(/\\([\\`*_{}[\]()#+\-.!<>|~])/g, '$1');
  };
  assert.match(text('phi-1_5', 'lora.mlp'), /On this phi checkpoint: fc1, fc2\./);
  assert.match(text('falcon-7b', 'lora.mlp'), /dense_h_to_4h, dense_4h_to_h/);
  assert.match(text('falcon-7b', 'lora.query', '  query: true\n'), /query_key_value \(Falcon fuses q, k and v/);
  assert.match(text('phi-1_5', 'lora.projection', '  projection: true\n'), /On this phi checkpoint: dense\./);
});

test('the rank check sees Falcon-7B key/value as the fused layer, not a 64-wide kv head', () => {
  const ranks = (r: number) =>
    analyzeConfig(
      `model:\n  checkpoint: ckpt\nlora:\n  r: ${r}\n  alpha: ${2 * r}\n  key: true\n`,
      '/ws/run.lora.yaml',
      workspace(checkpoint('falcon-7b')),
    )
      .parsed.problems.filter((p) => p.code === 'rank-exceeds-dimension')
      .map((p) => p.data);
  assert.deepEqual(ranks(65), []); // one kv head is 64 wide, but key adapts query_key_value
  // min(hidden 4544, fused (71 + 2) * 64 = 4672) = 4544
  assert.deepEqual(ranks(4600), [{ max: 4544 }]);
});
