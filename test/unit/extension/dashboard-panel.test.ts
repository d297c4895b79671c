// The dashboard panel in the host, through the real commands and a recorded webview: options
// (scripts, resource roots), the HTML's CSP, replay on 'ready', live lines, actions, unknown
// messages ignored, a hidden webview not posted to, and revival by the serializer.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import type { HostToWebview } from '../../../webview/src/protocol';
import { runJson } from './run-fixtures';

const train = (step: number) =>
  JSON.stringify({
    kind: 'train',
    step,
    epoch: 0,
    loss: 3 - step / 10,
    lr: 1e-4,
    grad_norm: 1,
    tokens: step * 100,
    tokens_per_s: 50,
    peak_bytes: 1000,
    elapsed_s: step,
  });

function setup() {
  fake.resetFakeVscode();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-dash-'));
  const runs = path.join(root, 'runs');
  const runDir = path.join(runs, 'demo-1');
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(runJson({ name: 'demo-1', status: 'completed', step: 3, totalSteps: 3 })));
  fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), [1, 2, 3].map(train).join('\n') + '\n');
  fake.configuration.set('loraLab.runFolders', [runs]);
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  return { runDir, dispose: () => subscriptions.forEach((s) => s.dispose()) };
}

const posted = (panel: fake.FakeWebviewPanel) => panel.webview.posted as HostToWebview[];

test('open: one panel per run with scripts on, resources limited to dist/webview and media, a strict CSP', async () => {
  const { runDir, dispose } = setup();
  await fake.commands.executeCommand('loraLab.openDashboard', runDir);
  await fake.commands.executeCommand('loraLab.openDashboard', runDir);
  assert.equal(fake.createdPanels.length, 1, 'the second open reveals the first panel');
  const panel = fake.createdPanels[0];
  assert.equal(panel.revealed, 1);
  const options = panel.webview.options as { enableScripts: boolean; localResourceRoots: fake.Uri[] };
  assert.equal(options.enableScripts, true);
  assert.deepEqual(
    options.localResourceRoots.map((u) => u.path),
    ['/ext/dist/webview', '/ext/media'],
  );
  assert.match(panel.webview.html, /default-src 'none'/);
  assert.match(panel.webview.html, /<script nonce="[A-Za-z0-9]+" src="vscode-webview-resource:\/\/\/ext\/dist\/webview\/dashboard\.js">/);
  assert.equal(posted(panel).length, 0, 'nothing is posted before the page says ready');
  dispose();
  assert.ok(panel.disposed);
});

test('ready sends one snapshot (header and every line); new lines follow; actions run commands; junk is ignored', async () => {
  const { runDir, dispose } = setup();
  await fake.commands.executeCommand('loraLab.openDashboard', runDir);
  const panel = fake.createdPanels[0];
  panel.webview.receive({ type: 'ready' });
  assert.equal(posted(panel).length, 1, 'the first paint needs one message');
  const [snapshot] = posted(panel);
  assert.ok(snapshot.type === 'snapshot');
  assert.equal(snapshot.run?.name, 'demo-1');
  assert.equal(snapshot.run?.state, 'completed');
  assert.equal(snapshot.run?.canResume, false);
  assert.deepEqual(
    snapshot.lines.map((l) => l.step),
    [1, 2, 3],
  );

  fs.appendFileSync(path.join(runDir, 'metrics.jsonl'), `${train(4)}\n`);
  await fake.commands.executeCommand('loraLab.openDashboard', runDir); // refreshes the store
  const last = posted(panel).at(-1)!;
  assert.ok(last.type === 'metrics' && !last.reset && last.lines.length === 1 && last.lines[0].step === 4, JSON.stringify(last));

  panel.webview.receive({ type: 'action', action: 'reveal' });
  assert.deepEqual(fake.executedCommands.find((c) => c.id === 'loraLab.revealRunFolder')?.args, [runDir]);
  panel.webview.receive({ type: 'action', action: 'chat' });
  assert.deepEqual(fake.executedCommands.find((c) => c.id === 'loraLab.chatWithModel')?.args, [runDir]);
  const before = posted(panel).length;
  panel.webview.receive({ type: 'action', action: 'format-disk' });
  panel.webview.receive('<script>');
  assert.equal(posted(panel).length, before);

  panel.setVisible(false);
  fs.appendFileSync(path.join(runDir, 'metrics.jsonl'), `${train(5)}\n`);
  await fake.commands.executeCommand('loraLab.openDashboard', runDir);
  assert.equal(posted(panel).length, before, 'a hidden (torn down) webview is not posted to');
  panel.setVisible(true);
  panel.webview.receive({ type: 'ready' });
  const replay = posted(panel)
    .slice(before)
    .find((m) => m.type === 'snapshot');
  assert.deepEqual(replay?.type === 'snapshot' && replay.lines.map((l) => l.step), [1, 2, 3, 4, 5]);
  dispose();
});

test('the serializer revives a panel from its saved state, and disposes one without', async () => {
  const { runDir, dispose } = setup();
  const serializer = fake.registeredSerializers.get('loraLab.dashboard') as {
    deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void>;
  };
  const revived = new fake.FakeWebviewPanel('loraLab.dashboard', 'old');
  await serializer.deserializeWebviewPanel(revived, { runDir, smoothing: 0.5, xAxis: 'step', logY: false });
  assert.match(revived.webview.html, /Content-Security-Policy/);
  revived.webview.receive({ type: 'ready' });
  assert.equal(posted(revived)[0]?.type, 'snapshot');
  const stale = new fake.FakeWebviewPanel('loraLab.dashboard', 'stale');
  await serializer.deserializeWebviewPanel(stale, undefined);
  assert.ok(stale.disposed);
  await fake.commands.executeCommand('loraLab.openDashboard', runDir);
  assert.equal(fake.createdPanels.length, 0, 'the revived panel is the run’s panel');
  dispose();
});
