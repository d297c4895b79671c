// End to end through the CLI: a tiny random checkpoint trained from a config on an Alpaca JSON and
// on a CSV produces the run folder (config.yaml, run.json, metrics.jsonl, checkpoints/, adapter/
// with PEFT keys and shapes); `merge` then `generate` work on the result; `runs` lists it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { MetricsLine, RunJson } from '../../../native/trainer/protocol';
import { runCli } from '../helpers/run-cli';
import { safetensorsHeader } from '../helpers/safetensors-header';
import { makeWorkspace } from './fixtures';

const ws = makeWorkspace();
after(() => rmSync(ws.dir, { recursive: true, force: true }));

function onlyRun(outDir: string): string {
  const runs = readdirSync(outDir).filter((n) => existsSync(join(outDir, n, 'run.json')));
  assert.equal(runs.length, 1, `one run folder in ${outDir}: ${runs.join(', ')}`);
  return join(outDir, runs[0]);
}

function metrics(runDir: string): MetricsLine[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine);
}

test('train on Alpaca JSON: the run folder is complete and the adapter is PEFT-exact', { timeout: 300_000 }, () => {
  const config = ws.writeConfig('json-run', {
    lora: { r: 4, alpha: 8, query: true, key: true, value: true, projection: true, mlp: true, head: true },
    out_dir: 'out-json',
  });
  const r = runCli(['train', config]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const runDir = onlyRun(join(ws.dir, 'out-json'));
  assert.match(runDir, /json-run-\d{8}-\d{6}$/);
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;
  assert.equal(run.status, 'completed');
  assert.equal(run.step, 8);
  assert.equal(run.totalSteps, 8);
  assert.equal(run.pid > 0, true);
  assert.ok(run.summary && run.summary.tokens > 0 && run.summary.peakBytes > 0 && run.summary.trainableParams > 0);
  assert.ok(run.summary!.finalValLoss !== null && Number.isFinite(run.summary!.finalValLoss));
  assert.match(readFileSync(join(runDir, 'config.yaml'), 'utf8'), /max_steps: 8/);
  const lines = metrics(runDir);
  assert.deepEqual(
    lines.filter((l) => l.kind === 'train').map((l) => l.step),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.deepEqual(
    lines.filter((l) => l.kind === 'val').map((l) => l.step),
    [4, 8],
  );
  for (const l of lines) if (l.kind === 'train') assert.ok(Number.isFinite(l.loss) && l.lr > 0 && l.tokens > 0 && l.peak_bytes > 0);
  const checkpoints = readdirSync(join(runDir, 'checkpoints')).sort();
  assert.deepEqual(checkpoints, ['step-000006', 'step-000008'], 'keep_checkpoints: 2');

  const adapterConfig = JSON.parse(readFileSync(join(runDir, 'adapter/adapter_config.json'), 'utf8'));
  assert.equal(adapterConfig.peft_type, 'LORA');
  assert.equal(adapterConfig.task_type, 'CAUSAL_LM');
  assert.equal(adapterConfig.r, 4);
  assert.equal(adapterConfig.lora_alpha, 8);
  assert.deepEqual([...adapterConfig.target_modules].sort(), [
    'down_proj',
    'gate_proj',
    'k_proj',
    'lm_head',
    'o_proj',
    'q_proj',
    'up_proj',
    'v_proj',
  ]);
  const header = safetensorsHeader(join(runDir, 'adapter/adapter_model.safetensors'));
  // tiny model: hidden 32, 4 heads (head_dim 8), 2 kv heads, intermediate 64, vocab 2048, 2 layers
  const expected: Record<string, [number[], number[]]> = {
    'self_attn.q_proj': [
      [4, 32],
      [32, 4],
    ],
    'self_attn.k_proj': [
      [4, 32],
      [16, 4],
    ],
    'self_attn.v_proj': [
      [4, 32],
      [16, 4],
    ],
    'self_attn.o_proj': [
      [4, 32],
      [32, 4],
    ],
    'mlp.gate_proj': [
      [4, 32],
      [64, 4],
    ],
    'mlp.up_proj': [
      [4, 32],
      [64, 4],
    ],
    'mlp.down_proj': [
      [4, 64],
      [32, 4],
    ],
  };
  for (let layer = 0; layer < 2; layer++) {
    for (const [module, [a, b]] of Object.entries(expected)) {
      const prefix = `base_model.model.model.layers.${layer}.${module}`;
      assert.deepEqual(header[`${prefix}.lora_A.weight`]?.shape, a, `${prefix}.lora_A`);
      assert.deepEqual(header[`${prefix}.lora_B.weight`]?.shape, b, `${prefix}.lora_B`);
    }
  }
  assert.deepEqual(header['base_model.model.lm_head.lora_A.weight']?.shape, [4, 32]);
  assert.deepEqual(header['base_model.model.lm_head.lora_B.weight']?.shape, [2048, 4]);
  assert.equal(Object.keys(header).length, 2 * 7 * 2 + 2);

  const merged = join(runDir, 'merged');
  const m = runCli(['merge', '--checkpoint', ws.checkpoint, '--adapter', join(runDir, 'adapter'), '--out', merged]);
  assert.equal(m.status, 0, m.stderr);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(merged, f)), f);
  const g = runCli(['generate', '--checkpoint', merged, '--prompt', 'Name the colour of the sky.', '--max-new-tokens', '8']);
  assert.equal(g.status, 0, g.stderr);
  const ga = runCli([
    'generate',
    '--checkpoint',
    ws.checkpoint,
    '--adapter',
    join(runDir, 'adapter'),
    '--prompt',
    'Name the colour of the sky.',
    '--max-new-tokens',
    '8',
  ]);
  assert.equal(ga.status, 0, ga.stderr);
  // (merged logits == base + adapter logits is checked numerically by native/tests/test_merge_engine;
  // greedy text of a random tiny model is too close to ties to compare here)

  const listing = runCli(['runs', join(ws.dir, 'out-json')]);
  assert.equal(listing.status, 0);
  assert.match(listing.stdout, /json-run-\S+\s+completed\s+8\/8/);
});

test('train on CSV: same pipeline, CSV reader', { timeout: 300_000 }, () => {
  const config = ws.writeConfig('csv-run', {
    data: { format: 'csv', path: 'data/alpaca.csv' },
    train: { max_steps: 3 },
    out_dir: 'out-csv',
  });
  const r = runCli(['train', config]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const runDir = onlyRun(join(ws.dir, 'out-csv'));
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;
  assert.equal(run.status, 'completed');
  assert.equal(metrics(runDir).filter((l) => l.kind === 'train').length, 3);
  assert.ok(existsSync(join(runDir, 'adapter/adapter_model.safetensors')));
});

test('--set overrides and a sweep run every variant with its own folder', { timeout: 300_000 }, () => {
  const config = ws.writeConfig('sweep-run', {
    train: { max_steps: 2, save_interval: 100 },
    out_dir: 'out-sweep',
    sweep: { 'lora.r': [2, 4], 'lora.alpha': ['=2*lora.r'] } as never,
  });
  const r = runCli(['train', config, '--set', 'train.learning_rate=0.002']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const dirs = readdirSync(join(ws.dir, 'out-sweep'))
    .filter((n) => n.startsWith('sweep-run-'))
    .sort();
  assert.equal(dirs.length, 2);
  const runs = dirs.map((d) => JSON.parse(readFileSync(join(ws.dir, 'out-sweep', d, 'run.json'), 'utf8')) as RunJson);
  assert.deepEqual(runs.map((run) => run.sweep?.variant).sort(), [0, 1]);
  for (const run of runs) assert.deepEqual(run.overrides, { 'train.learning_rate': 0.002 });
  const ranks = dirs.map((d) => JSON.parse(readFileSync(join(ws.dir, 'out-sweep', d, 'adapter/adapter_config.json'), 'utf8')).r).sort();
  assert.deepEqual(ranks, [2, 4]);
});

test('method full: every weight trains and the result is a Hugging Face folder that generates', { timeout: 300_000 }, () => {
  const config = ws.writeConfig('full-run', { train: { method: 'full', max_steps: 3, save_interval: 100 }, out_dir: 'out-full' });
  const r = runCli(['train', config]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const runDir = onlyRun(join(ws.dir, 'out-full'));
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunJson;
  assert.equal(run.summary?.trainableParams, run.summary?.totalParams);
  const base = safetensorsHeader(join(ws.checkpoint, 'model.safetensors'));
  const trained = safetensorsHeader(join(runDir, 'model/model.safetensors'));
  assert.deepEqual(Object.keys(trained).sort(), Object.keys(base).sort());
  for (const [name, info] of Object.entries(base)) assert.deepEqual(trained[name].shape, info.shape, name);
  assert.ok(!existsSync(join(runDir, 'adapter')));
  const g = runCli(['generate', '--checkpoint', join(runDir, 'model'), '--prompt', 'Hello', '--max-new-tokens', '4']);
  assert.equal(g.status, 0, g.stderr);
});
