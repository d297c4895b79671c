// The fork contract of ARCHITECTURE.md: ELECTRON_RUN_AS_NODE=1, empty execArgv, no shell, an
// argument array, output into a file descriptor (never a pipe), detached; and the CLI arguments.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { forkTrainer, mergeArgs, trainArgs, trainerForkOptions } from '../../../extension/src/trainer-process';

test('fork options: plain Node, no execArgv, no shell, output to a file, NODE_OPTIONS dropped, threads', () => {
  const options = trainerForkOptions('/ws', 7, 4, { PATH: '/bin', NODE_OPTIONS: '--inspect=9229' });
  assert.equal(options.env?.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(options.env?.PATH, '/bin');
  assert.equal(options.env?.NODE_OPTIONS, undefined);
  assert.equal(options.env?.LORALAB_THREADS, '4');
  assert.deepEqual(options.execArgv, []);
  assert.equal((options as { shell?: unknown }).shell, undefined);
  assert.deepEqual(options.stdio, ['ignore', 7, 7, 'ipc']);
  assert.equal(options.detached, true);
  assert.equal(options.cwd, '/ws');
  assert.equal(trainerForkOptions('/ws', 7, 0, {}).env?.LORALAB_THREADS, undefined);
});

test('train and merge arguments are arrays; a path with spaces and quotes stays one argument', () => {
  const config = "/ws/my runs/it's.lora.yaml";
  assert.deepEqual(trainArgs({ configPath: config }), ['train', config, '--ipc']);
  assert.deepEqual(trainArgs({ configPath: config, variant: 2 }), ['train', config, '--ipc', '--variant', '2']);
  assert.deepEqual(trainArgs({ configPath: config, resumeDir: '/out/my run' }), ['train', '--resume', '/out/my run', '--ipc']);
  assert.deepEqual(trainArgs({ configPath: config, resumeDir: '/out/my run', checkpoint: '/out/my run/checkpoints/step-000004' }), [
    'train',
    '--resume',
    '/out/my run',
    '--checkpoint',
    '/out/my run/checkpoints/step-000004',
    '--ipc',
  ]);
  assert.deepEqual(mergeArgs('/m', '/r/adapter', '/r/merged'), [
    'merge',
    '--checkpoint',
    '/m',
    '--adapter',
    '/r/adapter',
    '--out',
    '/r/merged',
  ]);
});

test('a forked child sees the contract: env, no execArgv, argv verbatim, stdout in the file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-fork-'));
  const script = path.join(dir, 'probe.js');
  fs.writeFileSync(
    script,
    'process.send({ env: process.env.ELECTRON_RUN_AS_NODE, execArgv: process.execArgv, argv: process.argv.slice(2), inspect: process.env.NODE_OPTIONS ?? null }); console.log("to the file"); process.disconnect();',
  );
  const out = path.join(dir, 'out.log');
  const fd = fs.openSync(out, 'a');
  const child = forkTrainer(
    script,
    ['train', 'a b; rm -rf /', '--ipc'],
    trainerForkOptions(dir, fd, 0, { ...process.env, NODE_OPTIONS: '--inspect' }),
  );
  fs.closeSync(fd);
  const message = await new Promise<unknown>((resolve) => child.once('message', resolve));
  await new Promise((resolve) => child.once('exit', resolve));
  assert.deepEqual(message, { env: '1', execArgv: [], argv: ['train', 'a b; rm -rf /', '--ipc'], inspect: null });
  assert.equal(fs.readFileSync(out, 'utf8').trim(), 'to the file');
});
