// `lora-lab runs` and the Runs view read run folders through one reader, so they agree on every
// state (running, crashed by a reused pid, stopped, completed, failed, incomplete); a damaged
// run.json is skipped with a warning naming it; a missing folder is an error, not "no runs".
import '../unit/helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RunsStore } from '../../extension/src/runs-store';
import type { RunJson } from '../../native/trainer/protocol';
import { runCli } from '../unit/helpers/run-cli';

const root = mkdtempSync(join(tmpdir(), 'lora-reader-'));
after(() => rmSync(root, { recursive: true, force: true }));

function run(name: string, patch: Partial<RunJson>): RunJson {
  return {
    protocolVersion: 1,
    name,
    status: 'running',
    configPath: '/ws/c.lora.yaml',
    configHash: 'h',
    overrides: {},
    pid: process.pid,
    processStartMs: Date.now() - process.uptime() * 1000,
    heartbeatMs: Date.now(),
    heartbeatIntervalS: 5,
    engineVersion: '0.1.0',
    device: { kind: 'cpu', name: 'CPU', computePath: 'cpu' },
    step: 3,
    totalSteps: 10,
    startedMs: 1000,
    ...patch,
  };
}
function folder(name: string, files: Record<string, string>): void {
  mkdirSync(join(root, name));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(root, name, file), text);
}

test('lora-lab runs and the Runs view agree on every state; damaged and incomplete folders are named', () => {
  folder('a-running', { 'run.json': JSON.stringify(run('a-running', {})) });
  // this test's own pid is alive, but run.json says it started an hour before: a reused pid
  folder('b-reused-pid', { 'run.json': JSON.stringify(run('b-reused-pid', { processStartMs: Date.now() - 3_600_000 })) });
  folder('c-stopped', { 'run.json': JSON.stringify(run('c-stopped', { status: 'stopped' })) });
  folder('d-completed', { 'run.json': JSON.stringify(run('d-completed', { status: 'completed', step: 10 })) });
  folder('e-failed', { 'run.json': JSON.stringify(run('e-failed', { status: 'failed', error: { code: 'E_X', message: 'x' } })) });
  folder('f-incomplete', { 'config.yaml': 'name: f\n' });
  folder('g-damaged', { 'run.json': '[]' });

  const cli = runCli(['runs', root, '--json']);
  assert.equal(cli.status, 0, cli.stderr);
  const rows = JSON.parse(cli.stdout) as { name: string; state: string; note?: string }[];
  const cliStates: Record<string, string> = Object.fromEntries(rows.map((r) => [r.name, r.state]));
  assert.match(cli.stderr, /warning: skipped .*g-damaged: .*g-damaged[/\\]run\.json: is not a run record/);
  assert.match(rows.find((r) => r.name === 'f-incomplete')?.note ?? '', /delete .*f-incomplete and start the config again/);

  const view = Object.fromEntries(new RunsStore().refresh([root]).map((v) => [v.run.name, v.state]));
  const expected: Record<string, string> = {
    'a-running': 'running',
    'b-reused-pid': 'crashed',
    'c-stopped': 'stopped',
    'd-completed': 'completed',
    'e-failed': 'failed',
    'f-incomplete': 'incomplete',
  };
  assert.deepEqual(cliStates, expected);
  for (const [name, state] of Object.entries(view)) assert.equal(cliStates[name], state, `${name}: the CLI and the Runs view agree`);
  assert.equal(Object.keys(view).length, 5, 'the view lists every readable run');

  const resume = runCli(['train', '--resume', join(root, 'f-incomplete')]);
  assert.equal(resume.status, 2);
  assert.match(resume.stderr, /an incomplete run folder .* delete it and start the config again/);
});

test('lora-lab runs on a missing folder is an error naming it', () => {
  const missing = join(root, 'no-such-folder');
  const cli = runCli(['runs', missing]);
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /no-such-folder: no such folder/);
});
