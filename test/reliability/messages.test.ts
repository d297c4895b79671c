// Messages that must say the right thing: NaN with and without a checkpoint, a damaged
// cursor.json / run.json named on --resume, leftovers of dead writers removed on resume, temp
// files never written through a planted symlink, generate's --max-new-tokens bounded by the
// model's context, merge onto a base whose config.json contradicts its weights refused.
import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RunJson } from '../../native/trainer/protocol';
import { writeFileAtomic } from '../../native/trainer/run/atomic';
import { runCli, trainWithEvents } from '../unit/helpers/run-cli';
import { makeWorkspace } from '../unit/trainer/fixtures';

const ws = makeWorkspace();
after(() => rmSync(ws.dir, { recursive: true, force: true }));
const onlyRun = (out: string) =>
  join(
    out,
    readdirSync(out).find((n) => !n.startsWith('.'))!,
  );
const runJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunJson;
const diverging = { optimizer: 'sgd', learning_rate: 1e30, warmup_steps: 0, grad_clip: null, lr_scheduler: 'constant', val_interval: 100 };

test('a NaN failure says whether a checkpoint is kept', { timeout: 120_000 }, () => {
  const none = ws.writeConfig('nan-none', { train: { ...diverging, max_steps: 6, save_interval: 100 }, out_dir: 'out-nan-none' });
  assert.equal(runCli(['train', none]).status, 1);
  const message = runJson(onlyRun(join(ws.dir, 'out-nan-none'))).error!.message;
  assert.match(message, /no checkpoint was saved yet/);
  assert.doesNotMatch(message, /last good checkpoint/);
});

test('--resume names a damaged cursor.json or run.json; leftovers of dead writers are removed', { timeout: 120_000 }, async () => {
  const config = ws.writeConfig('damaged', { train: { max_steps: 6, save_interval: 2, val_interval: 100 }, out_dir: 'out-damaged' });
  const first = await trainWithEvents([config], (event, child) => {
    if (event.type === 'checkpoint' && event.step === 4) child.kill('SIGKILL');
  });
  assert.equal(first.signal, 'SIGKILL');
  const runDir = onlyRun(join(ws.dir, 'out-damaged'));
  const cursor = join(runDir, 'checkpoints/step-000004/cursor.json');
  const good = readFileSync(cursor, 'utf8');
  writeFileSync(cursor, good.slice(0, 20));
  const r = runCli(['train', '--resume', runDir]);
  assert.equal(r.status, 1);
  assert.match(r.stdout + r.stderr, /step-000004[/\\]cursor\.json: is not valid JSON/);
  writeFileSync(cursor, good);

  const record = readFileSync(join(runDir, 'run.json'), 'utf8');
  writeFileSync(join(runDir, 'run.json'), '{"name": ');
  const d = runCli(['train', '--resume', runDir]);
  assert.equal(d.status, 2);
  assert.match(d.stderr, /run\.json: is not valid JSON/);
  writeFileSync(join(runDir, 'run.json'), record);

  writeFileSync(join(runDir, '.run.json.tmp-999999'), '{');
  mkdirSync(join(runDir, 'checkpoints/.step-000006.tmp-999999-abc123'));
  const ok = runCli(['train', '--resume', runDir]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(
    readdirSync(runDir).filter((n) => n.includes('.tmp-')),
    [],
  );
  assert.deepEqual(
    readdirSync(join(runDir, 'checkpoints')).filter((n) => n.startsWith('.')),
    [],
  );
  assert.equal(runJson(runDir).status, 'completed');
});

test('run-folder temp files are created exclusively: a symlink planted at the old predictable name is not written through', () => {
  const dir = join(ws.dir, 'symlinks');
  mkdirSync(dir);
  const victim = join(ws.dir, 'victim.txt');
  writeFileSync(victim, 'precious\n');
  symlinkSync(victim, join(dir, `.run.json.tmp-${process.pid}`));
  symlinkSync(victim, join(dir, 'run.json'));
  writeFileAtomic(join(dir, 'run.json'), '{"status": "running"}\n');
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n', "the symlinks' target is untouched");
  assert.ok(lstatSync(join(dir, 'run.json')).isFile(), 'run.json is now a plain file, not the link');
});

test('generate refuses a --max-new-tokens beyond the model context, naming the flag', () => {
  const r = runCli(['generate', '--checkpoint', ws.checkpoint, '--prompt', 'Hello', '--max-new-tokens', '100000000']);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /--max-new-tokens 100000000: the prompt \(\d+ tokens\) plus the new tokens must fit the model's context of \d+ tokens/,
  );
});

test('merge onto a base whose config.json contradicts its weights is refused before writing', { timeout: 120_000 }, () => {
  const config = ws.writeConfig('merge-src', { train: { max_steps: 2, save_interval: 100, val_interval: 100 }, out_dir: 'out-merge-src' });
  assert.equal(runCli(['train', config]).status, 0);
  const adapter = join(onlyRun(join(ws.dir, 'out-merge-src')), 'adapter');
  const broken = join(ws.dir, 'checkpoints/broken');
  cpSync(ws.checkpoint, broken, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(broken, 'config.json'), 'utf8')) as { intermediate_size: number };
  cfg.intermediate_size *= 2;
  writeFileSync(join(broken, 'config.json'), JSON.stringify(cfg));
  const target = join(ws.dir, 'merged');
  const r = runCli(['merge', '--checkpoint', broken, '--adapter', adapter, '--out', target]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /config\.json: intermediate_size and hidden_size say model\.layers\.0\.mlp\.gate_proj\.weight is \[\d+, \d+\], but the weights hold/,
  );
  assert.ok(!existsSync(target), 'nothing was written');
  const good = runCli(['merge', '--checkpoint', ws.checkpoint, '--adapter', adapter, '--out', target]);
  assert.equal(good.status, 0, good.stderr);
});
