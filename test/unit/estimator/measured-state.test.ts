// The estimator's trainable-state accounting against the real CPU engine for every optimizer and
// state precision (issue 30): masters, gradients and optimizer moments byte-exact, the bf16 scratch
// in the workspace exact, the whole peak within the measured suite's 10%.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { measureCases, relativeError, type MeasuredCase } from './measure';

const dir = mkdtempSync(join(tmpdir(), 'loralab-estimator-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// r=64 on q+v: A (64 x 768) and B (256 x 64 / 768 x 64) are >= 4096 elements (8-bit); r=4 on the head: A (4 x 768)
// stays under 4096 (fp32 / bf16 moments) while B (8192 x 4) is quantized
const R64 = { 'lora.r': 64, 'lora.alpha': 128 };
const CASES: MeasuredCase[] = [
  { name: 'adamw8bit r64', model: 'A', sets: { ...R64, 'train.optimizer': 'adamw8bit' } },
  { name: 'sgd8bit r64', model: 'A', sets: { ...R64, 'train.optimizer': 'sgd8bit' } },
  { name: 'bf16 adamw r64', model: 'A', sets: { ...R64, 'train.state_precision': 'bf16' } },
  {
    name: 'bf16 sgd r64 all layers',
    model: 'A',
    sets: { ...R64, 'train.state_precision': 'bf16', 'train.optimizer': 'sgd', 'lora.mlp': true },
  },
  {
    name: 'bf16 adamw8bit r4 q+v+head',
    model: 'A',
    sets: { 'lora.r': 4, 'lora.head': true, 'train.state_precision': 'bf16', 'train.optimizer': 'adamw8bit' },
  },
  {
    name: 'tied: sgd8bit r16 mlp',
    model: 'B',
    sets: { 'lora.r': 16, 'lora.query': false, 'lora.value': false, 'lora.mlp': true, 'train.optimizer': 'sgd8bit' },
  },
];

test('trainable state of every optimizer x state precision: byte-exact on the CPU engine', { timeout: 240_000 }, async (t) => {
  const rows = await measureCases(dir, CASES, 'engine-fix');
  for (const row of rows) {
    assert.ok(row.measured, `${row.name} refused: ${row.refused?.code} ${row.refused?.message}`);
    const m = row.measured;
    const p = row.predicted.memory.bytesByCategory;
    const e = m.enginePeakByCategory;
    t.diagnostic(
      `${row.name}: lora_params ${e.lora_params} grads ${e.grads} optimizer_state ${e.optimizer_state} workspace ${e.workspace} (predicted ${p.lora_params} / ${p.grads} / ${p.optimizer_state} / ${p.workspace})`,
    );
    for (const category of ['lora_params', 'grads', 'optimizer_state', 'workspace'] as const)
      assert.equal(p[category], e[category], `${row.name}: ${category}`);
    const error = relativeError(row.predicted.memory.peakBytes, m.enginePeakBytes);
    assert.ok(Math.abs(error) <= 0.1, `${row.name}: peak ${row.predicted.memory.peakBytes} vs ${m.enginePeakBytes}`);
  }
  // the settings' order of trainable-state size on the same adapter: fp32 AdamW 16 > 8-bit AdamW ~10 > bf16 AdamW 8 bytes
  const state = (name: string) => {
    const b = rows.find((r) => r.name === name)!.measured!.enginePeakByCategory;
    return b.lora_params + b.grads + b.optimizer_state;
  };
  const trainable = rows[0].predicted.params.trainable;
  assert.ok(Math.abs(state('adamw8bit r64') / trainable - 10.03) < 0.01, `${state('adamw8bit r64') / trainable} bytes per parameter`);
  assert.equal(state('bf16 adamw r64') / trainable, 8);
});
