// The lora-lab shim: a script in the extension's global storage that runs the host's binary as
// Node on the bundled CLI; run through a shell with its folder on the PATH it prints the version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeCliShim } from '../../../extension/src/cli-shim';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist', 'cli.js');
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

test('the shim on the PATH runs `lora-lab --version` with the host binary as Node', { skip: process.platform === 'win32' }, () => {
  const bin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lora shim's ")), 'bin'); // spaces and a quote survive
  const file = writeCliShim(bin, process.execPath, cli);
  assert.equal(file, path.join(bin, 'lora-lab'));
  assert.equal(fs.statSync(file).mode & 0o111, 0o111, 'executable');
  const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
  const r = spawnSync('/bin/sh', ['-c', 'lora-lab --version'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `lora-lab ${version}`);
  writeCliShim(bin, process.execPath, cli); // rewritten at each activation: replaced in place
  assert.deepEqual(fs.readdirSync(bin), ['lora-lab']);
});

test('on Windows the shim is a .cmd that sets ELECTRON_RUN_AS_NODE', () => {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-shim-win-'));
  const file = writeCliShim(bin, 'C:\\Program Files\\Code\\Code.exe', 'C:\\ext\\dist\\cli.js', 'win32');
  assert.equal(path.basename(file), 'lora-lab.cmd');
  assert.match(
    fs.readFileSync(file, 'utf8'),
    /set ELECTRON_RUN_AS_NODE=1\r\n"C:\\Program Files\\Code\\Code.exe" "C:\\ext\\dist\\cli.js" %\*/,
  );
});
