// `lora-lab estimate` and `lora-lab calibrate` in-process: a sweep gives one entry per variant, the time is
// "uncalibrated" until calibrate has written this device's record (atomically) into the user cache folder.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { countParams, readModelShape } from '../../../language-server/src/estimator';
import { calibrateCommand } from '../../../native/trainer/commands/calibrate';
import { estimateCommand } from '../../../native/trainer/commands/estimate';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'loralab-estimator-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
process.env.XDG_CACHE_HOME = join(dir, 'cache');
process.env.LORALAB_THREADS = '1';

async function run(command: typeof estimateCommand, args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await command.run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr };
}

const checkpoint = makeTinyCheckpoint(join(dir, 'model'), {
  vocabSize: 2048,
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
});
copyFileSync(join(__dirname, '../../../examples/data/alpaca.json'), join(dir, 'alpaca.json'));
const configPath = join(dir, 'sweep.lora.yaml');
writeFileSync(
  configPath,
  [
    'model:',
    '  checkpoint: model',
    'data:',
    '  path: alpaca.json',
    '  max_seq_length: 128',
    'train:',
    '  global_batch_size: 4',
    '  max_steps: 10',
    'sweep:',
    '  lora.r: [4, 16]',
    '  lora.alpha: ["=2*lora.r"]',
    '',
  ].join('\n'),
);

interface VariantJson {
  index: number;
  overrides: Record<string, unknown>;
  seqLenSource: string;
  estimate: {
    params: { trainable: number };
    memory: { peakBytes: number; bytesByCategory: Record<string, number> };
    time: { calibrated: boolean; seconds: number | null; steps: number };
  };
}

test('estimate --json: one entry per sweep variant, uncalibrated before calibrate, calibrated after', async () => {
  const shape = readModelShape(JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')));
  const before = await run(estimateCommand, [configPath, '--json', '--device', 'cpu']);
  assert.equal(before.status, 0, before.stderr);
  const parsed = JSON.parse(before.stdout) as {
    variants: VariantJson[];
    reference: Array<{ name: string; articleGigabytes: number; bytesByCategory: Record<string, number> }>;
  };
  assert.deepEqual(
    parsed.variants.map((v) => v.overrides['lora.r']),
    [4, 16],
  );
  for (const v of parsed.variants) {
    const r = v.overrides['lora.r'] as number;
    assert.equal(
      v.estimate.params.trainable,
      countParams(shape, 'lora', r, { query: true, key: false, value: true, projection: false, mlp: false, head: false }).trainable,
    );
    assert.equal(v.seqLenSource, 'data');
    assert.deepEqual([v.estimate.time.calibrated, v.estimate.time.seconds, v.estimate.time.steps], [false, null, 10]);
  }
  assert.ok(
    parsed.variants[1].estimate.memory.bytesByCategory.lora_params > parsed.variants[0].estimate.memory.bytesByCategory.lora_params,
  );
  assert.deepEqual(
    parsed.reference.map((r) => r.articleGigabytes),
    [21.33, 14.18, 19.24, 19.24, 19.24, 19.24],
  );
  // the article's r=256 run (648,871,936 trainable) under each trainable-state setting: bytes per parameter
  const perParam = parsed.reference.slice(2).map((r) => {
    const b = r.bytesByCategory;
    return (b.lora_params + b.grads + b.optimizer_state) / 648_871_936;
  });
  assert.equal(perParam[0], 18, 'fp32 masters + bf16 compute copy + fp32 grads + two fp32 moments');
  assert.equal(perParam[1], 8, "bf16 masters, grads and moments: Lit-GPT's bf16-true");
  assert.ok(perParam[2] > 12 && perParam[2] < 12.1, `adamw8bit with fp32 masters: ${perParam[2]}`);
  assert.ok(perParam[3] > 6 && perParam[3] < 6.05, `adamw8bit with bf16 state: ${perParam[3]}`);

  const text = await run(estimateCommand, [configPath, '--device', 'cpu']);
  assert.match(text.stdout, /uncalibrated: run 'lora-lab calibrate'/);
  assert.match(text.stdout, /article 21\.33 GB/);
  assert.match(text.stdout, /r=256 all layers, state_precision bf16 +estimate \d+\.\d\d GB +article 19\.24 GB/);
  assert.match(text.stdout, /r=256 all layers, adamw8bit \+ bf16 state +estimate \d+\.\d\d GB +article 19\.24 GB/);

  const calibrated = await run(calibrateCommand, ['--quick', '--json']);
  assert.equal(calibrated.status, 0, calibrated.stderr);
  const cacheDir = join(dir, 'cache', 'lora-lab');
  assert.deepEqual(readdirSync(cacheDir), ['calibration.json'], 'no temp file left behind');
  const record = JSON.parse(calibrated.stdout) as { flopsPerSecond: number; key: string };
  assert.ok(record.flopsPerSecond > 1e8, `${record.flopsPerSecond} FLOP/s`);

  const afterCalibration = JSON.parse((await run(estimateCommand, [configPath, '--json', '--device', 'cpu'])).stdout) as {
    variants: VariantJson[];
  };
  for (const v of afterCalibration.variants) {
    assert.equal(v.estimate.time.calibrated, true);
    assert.ok(v.estimate.time.seconds !== null && v.estimate.time.seconds > 0);
  }
  assert.ok(existsSync(join(cacheDir, 'calibration.json')));
});

test('estimate: usage errors and configs with errors', async () => {
  assert.equal((await run(estimateCommand, [])).status, 2);
  assert.equal((await run(estimateCommand, [configPath, '--device', 'tpu'])).status, 2);
  const broken = join(dir, 'broken.lora.yaml');
  writeFileSync(broken, 'lora:\n  r: -3\n');
  const result = await run(estimateCommand, [broken]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /lora\.r/);
});
