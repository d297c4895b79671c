// Reliability under concurrency: two trains of one config started in the same second get two
// run folders (nothing overwritten); two resumes of one run, or a resume while it trains, leave
// one writer and a clear E_RUN_LOCKED naming the holder for the other.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import type { RunJson, TrainerEvent } from '../../native/trainer/protocol';
import { CLI, trainWithEvents } from '../unit/helpers/run-cli';
import { makeWorkspace } from '../unit/trainer/fixtures';

const ws = makeWorkspace();
after(() => rmSync(ws.dir, { recursive: true, force: true }));

const runJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunJson;
const runDirs = (outDir: string) =>
  existsSync(outDir)
    ? readdirSync(outDir)
        .filter((n) => !n.startsWith('.'))
        .map((n) => join(outDir, n))
    : [];

/** `lora-lab train ARGS --json` as a child; resolves with its exit status, events and stderr. */
function train(args: string[]): Promise<{ status: number | null; events: TrainerEvent[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', ...args, '--json'], { env: { ...process.env, LORALAB_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({
        status,
        stderr,
        events: stdout
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l) as TrainerEvent),
      }),
    );
  });
}

/** Resolves at the start of the next wall-clock second, so two children plan in the same second. */
async function startOfSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000)));
}

test('two trains of one config in the same second: two folders, each with its own config and adapter', { timeout: 120_000 }, async () => {
  const config = ws.writeConfig('same', { train: { max_steps: 3, save_interval: 10, val_interval: 10 }, out_dir: 'out-same' });
  for (let attempt = 0; attempt < 3; attempt++) {
    const out = join(ws.dir, 'out-same');
    rmSync(out, { recursive: true, force: true });
    await startOfSecond();
    const results = await Promise.all([4, 16].map((r) => train([config, '--set', `lora.r=${r}`])));
    for (const r of results) assert.equal(r.status, 0, r.stderr);
    const dirs = runDirs(out);
    assert.equal(dirs.length, 2, `two run folders: ${dirs.join(', ')}`);
    const names = dirs.map((d) => d.slice(out.length + 1)).sort();
    if (!names[1].startsWith(`${names[0]}-`)) continue; // planned in different seconds: no collision to test, retry
    for (const dir of dirs) {
      const recorded = (parse(readFileSync(join(dir, 'config.yaml'), 'utf8')) as { lora: { r: number } }).lora.r;
      const adapter = (JSON.parse(readFileSync(join(dir, 'adapter/adapter_config.json'), 'utf8')) as { r: number }).r;
      assert.equal(adapter, recorded, `${dir}: the adapter was trained with the config recorded beside it`);
      assert.equal(runJson(dir).status, 'completed');
      assert.equal(runJson(dir).name, dir.slice(out.length + 1), 'run.json names its own folder');
    }
    assert.deepEqual(
      dirs.map((d) => (parse(readFileSync(join(d, 'config.yaml'), 'utf8')) as { lora: { r: number } }).lora.r).sort((a, b) => a - b),
      [4, 16],
    );
    return;
  }
  assert.fail('the two trains never planned their folders in the same second in 3 attempts');
});

test(
  'a resume while the run still trains, and two resumes at once: one writer, E_RUN_LOCKED names the holder',
  { timeout: 120_000 },
  async () => {
    // long enough (150 steps, seconds) that the trainers overlap even when one starts slowly
    const config = ws.writeConfig('locked', {
      train: { max_steps: 150, save_interval: 25, val_interval: 1000, log_interval: 10, keep_checkpoints: 2 },
      out_dir: 'out-locked',
    });
    let second: Promise<{ status: number | null; events: TrainerEvent[]; stderr: string }> | null = null;
    let holderPid = 0;
    const first = await trainWithEvents([config], (event, child) => {
      if (event.type === 'started') holderPid = event.pid;
      if (event.type === 'step' && event.line.step >= 2 && !second) {
        second = train(['--resume', event.runDir]).then((r) => {
          child.kill('SIGKILL'); // then leave the first one killed mid-run: its lock goes stale
          return r;
        });
      }
    });
    const refused = await second!;
    assert.equal(refused.status, 1);
    const failed = refused.events.find((e) => e.type === 'failed');
    assert.ok(failed && failed.type === 'failed');
    assert.equal(failed.error.code, 'E_RUN_LOCKED');
    assert.match(failed.error.message, new RegExp(`in use by another trainer: pid ${holderPid}\\b`));
    assert.equal(first.signal, 'SIGKILL');
    const [runDir] = runDirs(join(ws.dir, 'out-locked'));
    assert.equal(runJson(runDir).pid, holderPid, 'the refused resume did not touch run.json');

    // the holder is dead now: two resumes at once, one takes the stale lock and finishes
    const both = await Promise.all([train(['--resume', runDir]), train(['--resume', runDir])]);
    const statuses = both.map((r) => r.status).sort();
    assert.deepEqual(statuses, [0, 1], both.map((r) => r.stderr).join('\n'));
    const loser = both.find((r) => r.status === 1)!;
    const winner = both.find((r) => r.status === 0)!;
    const lockError = loser.events.find((e) => e.type === 'failed');
    assert.ok(lockError && lockError.type === 'failed' && lockError.error.code === 'E_RUN_LOCKED', JSON.stringify(lockError));
    const winnerPid = winner.events.find((e) => e.type === 'started');
    assert.ok(winnerPid && winnerPid.type === 'started');
    assert.match(lockError.error.message, new RegExp(`pid ${winnerPid.pid}\\b`));
    const run = runJson(runDir);
    assert.equal(run.status, 'completed');
    assert.equal(run.pid, winnerPid.pid);
    assert.ok(!existsSync(join(runDir, '.lock')), 'the lock is released at the end');
  },
);
