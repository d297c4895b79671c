// "Chat with Model" in the host, through the real command, a recorded webview and the real chat
// child (dist/cli.js chat-serve on the bundled tiny model): strict CSP, the run's base model and
// adapter and prompt style, base and finetune answers streamed by request id, one child per base
// model shared by panels and gone after the last one closes, and revival from the saved state.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { ChatModels } from '../../../extension/src/chat/chat-models';
import type { HostToChatView } from '../../../webview/src/chat/protocol';
import { loadAddon } from '../../../native/trainer/addon';
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import { runJson } from './run-fixtures';

const repo = path.resolve(__dirname, '../../..');
const MODEL = path.join(repo, 'examples/tiny-llama');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-chat-host-'));
const runDir = path.join(root, 'runs', 'chat-1');
after(() => fs.rmSync(root, { recursive: true, force: true }));

before(async () => {
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify(runJson({ name: 'chat-1', status: 'completed', step: 3, totalSteps: 3, configPath: path.join(root, 'chat.lora.yaml') })),
  );
  fs.writeFileSync(path.join(runDir, 'config.yaml'), `name: chat-1\nmodel:\n  checkpoint: ${MODEL}\ndata:\n  prompt_style: alpaca\n`);
  const engine = await loadAddon().loadEngine(
    MODEL,
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true', 'train.method': 'lora', 'lora.r': 4 }), 1, false, undefined, 1),
  );
  await engine.saveAdapter(path.join(runDir, 'adapter'), MODEL);
  engine.dispose();
});

function setup() {
  fake.resetFakeVscode();
  fake.configuration.set('loraLab.runFolders', [path.join(root, 'runs')]);
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: repo, extensionUri: fake.Uri.file(repo) } as never);
  return { dispose: () => subscriptions.forEach((s) => s.dispose()) };
}

const posted = (panel: fake.FakeWebviewPanel) => panel.webview.posted as HostToChatView[];

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a run opens a chat on its base model and adapter; base and finetune answers stream back by request id', async () => {
  const { dispose } = setup();
  let panels: { panel: fake.FakeWebviewPanel; revived: fake.FakeWebviewPanel } | undefined;
  try {
    panels = await chatThroughThePanel();
  } finally {
    dispose();
  }
  assert.ok(panels.panel.disposed && panels.revived.disposed, 'the extension closes its chat panels on dispose');
});

async function chatThroughThePanel() {
  await fake.commands.executeCommand('loraLab.chatWithModel', runDir);
  const panel = fake.createdPanels.find((p) => p.viewType === 'loraLab.chat');
  assert.ok(panel, fake.shownMessages.map((m) => m.text).join('\n'));
  assert.match(panel.webview.html, /default-src 'none'/);
  assert.match(panel.webview.html, /<script nonce="[A-Za-z0-9]+" src="[^"]*\/dist\/webview\/chat\.js">/);
  assert.equal(posted(panel).length, 0, 'nothing is posted before the page says ready');
  panel.webview.receive({ type: 'ready' });
  const ready = await until('the model', () => posted(panel).find((m) => m.type === 'model' && m.status.state === 'ready'));
  assert.ok(ready.type === 'model');
  assert.deepEqual(ready.inFlight, []);
  assert.deepEqual(
    { ...ready.target },
    { checkpoint: MODEL, adapter: path.join(runDir, 'adapter'), label: 'chat-1 (adapter)', promptStyle: 'alpaca' },
  );
  const sampling = { temperature: 0, topP: 1, maxNewTokens: 8, seed: 0, stop: [] };
  const turns = [{ role: 'user', content: 'Add 2 and 3.' }];
  panel.webview.receive({ type: 'generate', requestId: 'r-base', side: 'base', turns, format: 'alpaca', sampling });
  panel.webview.receive({ type: 'generate', requestId: 'r-ft', side: 'finetune', turns, format: 'alpaca', sampling });
  for (const id of ['r-base', 'r-ft']) {
    const done = await until(`done ${id}`, () => posted(panel).find((m) => m.type === 'done' && m.requestId === id));
    assert.ok(done.type === 'done' && done.tokens > 0 && done.tokensPerSecond > 0, JSON.stringify(done));
    const prompt = posted(panel).find((m) => m.type === 'prompt' && m.requestId === id);
    assert.ok(prompt?.type === 'prompt' && prompt.text.includes('### Instruction:\nAdd 2 and 3.\n\n### Response:\n'));
    assert.ok(posted(panel).some((m) => m.type === 'token' && m.requestId === id));
  }
  // a page shown again while an answer is in flight hears of it with the model status (the child's
  // messages arrive asynchronously, so nothing of r-next has come back before this)
  panel.webview.receive({ type: 'generate', requestId: 'r-next', side: 'finetune', turns, format: 'alpaca', sampling });
  panel.setVisible(false);
  panel.setVisible(true);
  panel.webview.receive({ type: 'ready' });
  const resumed = posted(panel)
    .filter((m) => m.type === 'model')
    .at(-1);
  assert.ok(
    resumed?.type === 'model' && resumed.inFlight.length === 1 && resumed.inFlight[0].requestId === 'r-next',
    JSON.stringify(resumed),
  );
  await until('r-next done', () => posted(panel).find((m) => m.type === 'done' && m.requestId === 'r-next'));
  panel.webview.receive({ type: 'ready' });
  const after = posted(panel)
    .filter((m) => m.type === 'model')
    .at(-1);
  assert.ok(after?.type === 'model' && after.inFlight.length === 0, 'a finished request is no longer in flight');
  panel.webview.receive({ type: 'generate', requestId: 'x', side: 'sideways', turns, format: 'alpaca', sampling });
  panel.webview.receive({ type: 'stop', requestIds: ['nobody'] });
  assert.ok(!posted(panel).some((m) => 'requestId' in m && (m.requestId === 'x' || m.requestId === 'nobody')), 'junk is ignored');

  const serializer = fake.registeredSerializers.get('loraLab.chat') as { deserializeWebviewPanel(p: unknown, s: unknown): Promise<void> };
  const revived = new fake.FakeWebviewPanel('loraLab.chat', 'old');
  await serializer.deserializeWebviewPanel(revived, { target: ready.target, settings: {}, entries: [{ role: 'user', text: 'hi' }] });
  assert.equal(revived.title, 'Chat: chat-1 (adapter)');
  revived.webview.receive({ type: 'ready' });
  await until('the revived panel ready', () => posted(revived).find((m) => m.type === 'model' && m.status.state === 'ready'));
  const foreign = new fake.FakeWebviewPanel('loraLab.chat', 'x');
  await serializer.deserializeWebviewPanel(foreign, { runDir: '/x' });
  assert.ok(foreign.disposed, 'a state that is not a chat state closes the panel');
  return { panel, revived };
}

test('one chat child per base model: shared by two users, shut down after the last release', async () => {
  const models = new ChatModels({ entry: path.join(repo, 'dist/cli.js'), threads: () => 1, log: () => {} });
  after(() => models.dispose());
  const first = models.acquire(MODEL);
  const second = models.acquire(path.join(MODEL, '.'));
  assert.equal(second, first);
  assert.equal(models.running().length, 1);
  await until('ready', () => first.status?.type === 'ready');
  models.release(first);
  assert.ok(first.alive, 'still used by the second panel');
  models.release(second);
  await until('the child to exit', () => !first.alive, 10_000);
  assert.equal(models.running().length, 0);
  const again = models.acquire(MODEL);
  assert.notEqual(again, first, 'a later panel starts a fresh child');
  assert.notEqual(again.pid, first.pid);
  models.dispose();
  await until('the second child to exit', () => !again.alive, 10_000);
});
