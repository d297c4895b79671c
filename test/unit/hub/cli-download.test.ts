// `lora-lab download` and `lora-lab estimate` on a Hub repo id, against a local Hub on 127.0.0.1:
// Llama-2-7B's public config.json alone (test/fixtures/hub) gives the article's counts (6,738,415,616
// total; 4,194,304 trainable for r=8 on q,v), the estimate says it used max_seq_length (no tokenizer),
// `check` warns about the missing weights and `train` refuses with the download hint.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkCommand } from '../../../native/trainer/commands/check';
import { downloadCommand, progressLine } from '../../../native/trainer/commands/download';
import { estimateCommand } from '../../../native/trainer/commands/estimate';
import { trainCommand } from '../../../native/trainer/commands/train';
import type { RunJson } from '../../../native/trainer/protocol';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';
import { FakeHub, smallRepo } from './fake-hub';

const dir = mkdtempSync(join(tmpdir(), 'loralab-hub-cli-'));
const cacheDir = join(dir, 'hub-cache');
const llamaConfig = readFileSync(join(__dirname, '../../fixtures/hub/Llama-2-7b-hf/config.json'));
const tiny = makeTinyCheckpoint(join(dir, 'tiny-source'), {
  vocabSize: 2048,
  hiddenSize: 32,
  intermediateSize: 64,
  numLayers: 1,
  numHeads: 4,
  numKvHeads: 2,
});
const tinyFiles = Object.fromEntries(readdirSync(tiny).map((name) => [name, readFileSync(join(tiny, name))]));
const hub = new FakeHub([
  {
    ...smallRepo('meta-llama/Llama-2-7b-hf'),
    gated: true,
    files: {
      'config.json': llamaConfig,
      'model-00001-of-00002.safetensors': Buffer.alloc(4096, 1),
      'pytorch_model-00001-of-00002.bin': Buffer.from('x'),
    },
  },
  { ...smallRepo('acme/tiny-llama'), files: tinyFiles },
]);
const saved = { ...process.env };

before(async () => {
  await hub.start();
  Object.assign(process.env, {
    HF_ENDPOINT: hub.endpoint,
    HF_HUB_CACHE: cacheDir,
    HF_TOKEN: hub.token,
    XDG_CACHE_HOME: join(dir, 'xdg'),
    LORALAB_THREADS: '1',
  });
  delete process.env.HF_HUB_OFFLINE;
});
after(async () => {
  process.env = saved;
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(command: typeof estimateCommand, args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await command.run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { status, stdout, stderr };
}

test('download --include config.json, then estimate Llama-2-7B from its config.json alone', async () => {
  const configPath = join(dir, 'llama.lora.yaml');
  copyFileSync(join(__dirname, '../../../examples/data/alpaca.json'), join(dir, 'alpaca.json'));
  writeFileSync(
    configPath,
    [
      'model:',
      '  checkpoint: meta-llama/Llama-2-7b-hf',
      'lora:',
      '  r: 8',
      '  alpha: 16',
      '  query: true',
      '  value: true',
      'data:',
      '  path: alpaca.json',
      'device: cpu',
      '',
    ].join('\n'),
  );

  const before = await run(estimateCommand, [configPath, '--json']);
  assert.equal(before.status, 1, 'no estimate before config.json is fetched');
  assert.match(
    before.stderr,
    /error: model\.checkpoint meta-llama\/Llama-2-7b-hf: no such folder .* not in the cache .*lora-lab download meta-llama\/Llama-2-7b-hf --include config\.json/,
  );

  const fetched = await run(downloadCommand, ['meta-llama/Llama-2-7b-hf', '--include', 'config.json']);
  assert.equal(fetched.status, 0, fetched.stderr);
  const snapshot = fetched.stdout.trim();
  assert.equal(snapshot, join(cacheDir, 'models--meta-llama--Llama-2-7b-hf', 'snapshots', smallRepo('meta-llama/Llama-2-7b-hf').commit));
  assert.match(fetched.stderr, /1 files, 1 downloaded/);

  const estimate = await run(estimateCommand, [configPath, '--json']);
  assert.equal(estimate.status, 0, estimate.stderr);
  const result = JSON.parse(estimate.stdout) as {
    seqLenSource: string;
    dataNote: string;
    estimate: { params: { base: number; trainable: number } };
  };
  assert.deepEqual(
    [result.estimate.params.base + result.estimate.params.trainable, result.estimate.params.trainable],
    [6_738_415_616 + 4_194_304, 4_194_304],
  );
  assert.equal(result.estimate.params.base, 6_738_415_616);
  assert.equal(result.seqLenSource, 'max_seq_length');
  assert.match(result.dataNote, /no tokenizer yet .*data\.max_seq_length/);
  const text = await run(estimateCommand, [configPath]);
  assert.match(text.stdout, /trainable 4,194,304 of 6,738,415,616/);

  const check = await run(checkCommand, [configPath]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(
    check.stdout,
    /warning model\.checkpoint meta-llama\/Llama-2-7b-hf has config\.json but lacks \*\.safetensors, tokenizer\.json/,
  );

  const train = await run(trainCommand, [configPath]);
  assert.notEqual(train.status, 0);
  assert.match(
    train.stderr,
    /lacks \*\.safetensors, tokenizer\.json: training needs them; download them: lora-lab download meta-llama\/Llama-2-7b-hf@[0-9a-f]{40}/,
  );
});

test('download errors and usage: a gated repo without a token, a bad id, --cache-dir', async () => {
  delete process.env.HF_TOKEN;
  const gated = await run(downloadCommand, ['meta-llama/Llama-2-7b-hf', '--cache-dir', join(dir, 'other')]);
  process.env.HF_TOKEN = hub.token;
  assert.equal(gated.status, 1);
  assert.match(gated.stderr, /gated model: accept the license on the model page .* and set HF_TOKEN/);
  assert.equal((await run(downloadCommand, [])).status, 2);
  assert.equal((await run(downloadCommand, ['a/b', '--include'])).status, 2);
  const other = await run(downloadCommand, ['meta-llama/Llama-2-7b-hf', '--cache-dir', join(dir, 'other')]);
  assert.equal(other.status, 0, other.stderr);
  assert.ok(other.stdout.startsWith(join(dir, 'other', 'models--meta-llama--Llama-2-7b-hf', 'snapshots')));
  assert.match(other.stderr, /skipped pytorch_model-00001-of-00002\.bin \(pickle/);
});

test('the progress line: bar, bytes, rate, ETA, file', () => {
  assert.equal(
    progressLine(
      { file: 'model.safetensors', doneBytes: 512 * 1024 ** 2, totalBytes: 1024 ** 3, bytesPerSecond: 64 * 1024 ** 2, etaSeconds: 8 },
      10,
    ),
    '[#####.....]  50% 512 MiB / 1.00 GiB  64.0 MiB/s  ETA 8.0s  model.safetensors',
  );
});

test('train on a downloaded Hub model: run.json records the repo and the snapshot commit', { timeout: 300_000 }, async () => {
  const fetched = await run(downloadCommand, ['acme/tiny-llama']);
  assert.equal(fetched.status, 0, fetched.stderr);
  copyFileSync(join(__dirname, '../../../examples/data/alpaca.json'), join(dir, 'alpaca.json'));
  const configPath = join(dir, 'tiny.lora.yaml');
  writeFileSync(
    configPath,
    [
      'model:',
      '  checkpoint: acme/tiny-llama',
      '  precision: 32-true',
      'data:',
      '  path: alpaca.json',
      '  max_seq_length: 64',
      'train:',
      '  global_batch_size: 2',
      '  micro_batch_size: 2',
      '  max_steps: 1',
      '  warmup_steps: 0',
      'device: cpu',
      'eval:',
      '  tasks: []',
      'out_dir: out',
      '',
    ].join('\n'),
  );
  const trained = await run(trainCommand, [configPath, '--json']);
  assert.equal(trained.status, 0, trained.stderr + trained.stdout);
  const runs = readdirSync(join(dir, 'out')).filter((name) => !name.startsWith('.'));
  const record = JSON.parse(readFileSync(join(dir, 'out', runs[0], 'run.json'), 'utf8')) as RunJson;
  assert.deepEqual(record.hubModel, { repo: 'acme/tiny-llama', commit: smallRepo('acme/tiny-llama').commit });
  assert.match(readFileSync(join(dir, 'out', runs[0], 'config.yaml'), 'utf8'), /models--acme--tiny-llama\/snapshots\/[0-9a-f]{40}/);
});
