// The language server on a config whose model.checkpoint is a Hub repo id: not cached -> the error
// with the "Fetch config.json" / "Download model" commands; after files land in the Hugging Face cache
// (outside the workspace, so no watched-file event) the host's loraLab/modelsChanged notification
// makes it re-read the cache: the error goes, the estimate lens appears. It never makes a request itself.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LspSession } from './lsp-harness';

const dir = mkdtempSync(join(tmpdir(), 'loralab-hub-lsp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a Hub repo id: the not-cached error and its commands, then loraLab/modelsChanged re-reads the cache', async () => {
  const cache = join(dir, 'hub');
  writeFileSync(join(dir, 'data.json'), '[]');
  const text = 'model:\n  checkpoint: acme/tiny\ndata:\n  path: data.json\neval:\n  tasks: []\n';
  const uri = pathToFileURL(join(dir, 'run.lora.yaml')).toString();
  const lsp = LspSession.inProcess(undefined, undefined, cache);
  try {
    await lsp.initialize();
    await lsp.open(uri, text);
    const before = await lsp.diagnostics(uri);
    const notCached = before.find((d) => d.code === 'checkpoint-not-downloaded');
    assert.ok(notCached, JSON.stringify(before));
    const actions = await lsp.codeActions(uri, notCached.range, [notCached]);
    assert.deepEqual(
      actions.map((a) => [a.title, a.command?.command]),
      [
        ['Fetch config.json of acme/tiny (for the estimate; trusted workspaces only)', 'loraLab.downloadModel'],
        ['Download model acme/tiny', 'loraLab.downloadModel'],
      ],
    );

    // what `lora-lab download acme/tiny --include config.json` leaves in the cache
    const commit = 'c'.repeat(40);
    const repo = join(cache, 'models--acme--tiny');
    mkdirSync(join(repo, 'refs'), { recursive: true });
    mkdirSync(join(repo, 'snapshots', commit), { recursive: true });
    writeFileSync(
      join(repo, 'snapshots', commit, 'config.json'),
      JSON.stringify({
        architectures: ['LlamaForCausalLM'],
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        vocab_size: 256,
      }),
    );
    writeFileSync(join(repo, 'refs', 'main'), commit);
    const count = lsp.publishCount;
    await lsp.rpc.sendNotification('loraLab/modelsChanged');
    const afterDownload = await lsp.diagnostics(uri, count);
    assert.deepEqual(
      afterDownload.filter((d) => d.severity === 1),
      [],
      'no error once config.json is cached',
    );
    assert.ok(afterDownload.some((d) => d.code === 'checkpoint-weights-missing' && d.severity === 2));
    const lenses = await lsp.codeLens(uri);
    assert.ok(
      lenses.some((lens) => /^Trainable 4,096 \/ 115,008 parameters/.test(lens.command?.title ?? '')),
      JSON.stringify(lenses),
    );
  } finally {
    await lsp.shutdown();
  }
});
