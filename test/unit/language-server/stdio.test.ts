// The server as its own process (`server.ts --stdio`): initialize, diagnostics, code lens, then
// shutdown and exit end the process with code 0.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { LspSession, fixtureText, fixtureUri } from './lsp-harness';

test('stdio server: a valid config has no problems and a parameter lens; exit ends the process', async () => {
  const { session, child } = LspSession.spawned();
  const exited = once(child, 'exit');
  try {
    const init = await session.initialize();
    assert.equal(init.serverInfo?.name, 'lora-lab-language-server');
    const uri = fixtureUri('valid.lora.yaml');
    await session.open(uri, fixtureText('valid.lora.yaml'));
    assert.deepEqual(await session.diagnostics(uri, undefined, 20_000), []);
    const lenses = await session.codeLens(uri);
    assert.equal(lenses[0].command?.title, 'Trainable 4,194,304 / 6,738,415,616 parameters (0.0622%, LoRA)');
    await session.rpc.sendRequest('shutdown');
    await session.rpc.sendNotification('exit');
    const [code] = await Promise.race([
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the server did not exit')), 10_000).unref()),
    ]);
    assert.equal(code, 0);
  } finally {
    session.rpc.dispose();
    if (child.exitCode === null) child.kill();
  }
});
