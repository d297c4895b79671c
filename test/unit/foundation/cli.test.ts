// `lora-lab --help` lists every planned subcommand; each either works or says "not available yet"
// with a non-zero exit; unknown commands fail with the help text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { COMMANDS } from '../../../native/trainer/cli';

const cli = join(__dirname, '../../../dist/cli.js');
const PLANNED = [
  'train',
  'check',
  'estimate',
  'eval',
  'merge',
  'generate',
  'runs',
  'demo',
  'doctor',
  'calibrate',
  'download',
  'inspect-data',
  'chat-serve',
];

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

test('--help lists every planned subcommand', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  for (const name of PLANNED) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'), name);
  assert.deepEqual(COMMANDS.map((c) => c.name).sort(), [...PLANNED].sort());
});

test('subcommands not built yet answer "not available yet" with a non-zero exit', () => {
  for (const command of COMMANDS.filter((c) => !c.available)) {
    const r = run(command.name);
    assert.notEqual(r.status, 0, command.name);
    assert.match(r.stderr, /not available yet/, command.name);
  }
});

test('an unknown command fails and prints the help', () => {
  const r = run('fly');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'fly'/);
  assert.match(r.stderr, /Commands:/);
});
