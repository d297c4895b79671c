// "LoRA Lab: Download Model" through activate and the fake vscode, against a local Hub on 127.0.0.1:
// the catalog marks gated repos and refuses unloadable families with the reason; a typed repo id and
// a quick fix's request download into the cache; untrusted workspaces are refused without a request.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { catalogItems, ENTER_REPO_ID } from '../../../extension/src/commands/download-model';
import type { DownloadResult } from '../../../language-server/src/lib/hub';
import { FakeHub, smallRepo } from '../hub/fake-hub';

const dir = mkdtempSync(join(tmpdir(), 'loralab-download-cmd-'));
const hub = new FakeHub([smallRepo('acme/tiny'), smallRepo('Qwen/Qwen2.5-0.5B')]);
const saved = { ...process.env };

before(async () => {
  await hub.start();
  Object.assign(process.env, { HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(dir, 'cache') });
  delete process.env.HF_HUB_OFFLINE;
});
after(async () => {
  process.env = saved;
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
});

function start() {
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  return () => subscriptions.forEach((s) => s.dispose());
}

test("the catalog: the article's models and small current ones; gated marked; Phi and Falcon disabled with the reason", () => {
  const items = catalogItems();
  assert.match(items[0].label, new RegExp(ENTER_REPO_ID));
  const byRepo = new Map(items.filter((i) => i.model).map((i) => [i.model!.repo, i]));
  for (const repo of [
    'meta-llama/Llama-2-7b-hf',
    'meta-llama/Llama-2-13b-hf',
    'mistralai/Mistral-7B-v0.1',
    'microsoft/phi-1_5',
    'tiiuae/falcon-40b',
    'meta-llama/Llama-3.2-1B',
    'Qwen/Qwen2.5-0.5B',
    'Qwen/Qwen2.5-1.5B',
    'HuggingFaceTB/SmolLM2-135M',
    'HuggingFaceTB/SmolLM2-360M',
  ])
    assert.ok(byRepo.has(repo), repo);
  assert.match(byRepo.get('meta-llama/Llama-2-7b-hf')!.description!, /gated: accept the license/);
  // Phi and Falcon load on the CPU engine: offered, with the CUDA refusal as a note (no catalog model is unloadable now)
  assert.match(byRepo.get('microsoft/phi-1_5')!.detail!, /^Phi runs on the CPU engine by default .*not yet verified on a GPU/);
  assert.match(byRepo.get('tiiuae/falcon-40b')!.label, /cloud-download/);
  assert.ok(items.every((i) => !i.model?.unsupported));
  assert.equal(byRepo.get('Qwen/Qwen2.5-0.5B')!.detail, undefined);
});

test('picking a catalog model downloads it; an unloadable one is refused; a typed id works; a quick fix request fetches config.json', async () => {
  fake.resetFakeVscode();
  const stop = start();
  try {
    const items = catalogItems();
    // an entry the engine cannot load is refused before any download
    const unloadable = { ...items.find((i) => i.model?.repo === 'tiiuae/falcon-40b')! };
    unloadable.model = { ...unloadable.model!, unsupported: 'Falcon (FalconForCausalLM) is not implemented by the engine yet' };
    fake.answers.quickPick = unloadable;
    hub.seen.length = 0;
    assert.equal(await fake.commands.executeCommand('loraLab.downloadModel'), undefined);
    assert.match(fake.shownMessages.at(-1)!.text, /falcon-40b cannot be trained yet: Falcon/);
    assert.deepEqual(hub.seen, []);

    fake.answers.quickPick = items.find((i) => i.model?.repo === 'Qwen/Qwen2.5-0.5B');
    const picked = (await fake.commands.executeCommand('loraLab.downloadModel')) as DownloadResult;
    assert.ok(existsSync(join(picked.snapshot, 'model.safetensors')));
    assert.match(fake.shownMessages.at(-1)!.text, /Qwen\/Qwen2\.5-0\.5B is in the Hugging Face cache \(3 of 3 files fetched/);

    fake.answers.quickPick = items[0];
    fake.answers.inputBox = 'acme/tiny@main';
    const typed = (await fake.commands.executeCommand('loraLab.downloadModel')) as DownloadResult;
    assert.equal(typed.repo, 'acme/tiny');

    rmSync(join(dir, 'cache', 'models--acme--tiny'), { recursive: true });
    const configOnly = (await fake.commands.executeCommand('loraLab.downloadModel', {
      repo: 'acme/tiny',
      revision: 'main',
      include: ['config.json'],
    })) as DownloadResult;
    assert.deepEqual(
      configOnly.files.map((f) => f.name),
      ['config.json'],
    );

    hub.seen.length = 0;
    await fake.commands.executeCommand('loraLab.downloadModel', { repo: 'acme/missing', revision: 'main' });
    assert.match(fake.shownMessages.at(-1)!.text, /downloading acme\/missing failed: acme\/missing was not found, or it is private/);
  } finally {
    stop();
  }
});

test('an untrusted workspace: refused, nothing requested', async () => {
  fake.resetFakeVscode();
  fake.workspaceState.isTrusted = false;
  const stop = start();
  try {
    hub.seen.length = 0;
    assert.equal(
      await fake.commands.executeCommand('loraLab.downloadModel', { repo: 'acme/tiny', revision: 'main', include: ['config.json'] }),
      undefined,
    );
    assert.match(fake.shownMessages.at(-1)!.text, /Downloading models is disabled in an untrusted workspace/);
    assert.deepEqual(hub.seen, []);
  } finally {
    stop();
  }
});
