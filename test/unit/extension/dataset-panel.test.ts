// The dataset panel in the host, through the real command, a recorded webview and the real
// dist/cli.js child: CSP page, the report of `inspect-data --ipc` with the --json numbers,
// refresh on a data-file save and on a config save that changes the data section, rejected rows
// whose links open the line (other files refused), the serializer, and the child ended on close.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { DatasetInspection, inspectArgs, inspectForkOptions } from '../../../extension/src/dataset/dataset-inspection';
import type { InspectMessage } from '../../../native/trainer/protocol';
import type { DatasetHostMessage } from '../../../webview/src/protocol';

const root = process.cwd();
const cli = path.join(root, 'dist', 'cli.js');
const GOOD = ['Name a colour.', 'Add 2 and 3.', 'Say hello in French.', 'Spell cat backwards.'].map((instruction, i) =>
  JSON.stringify({ instruction, output: ['blue', '5', 'bonjour', 'tac'][i] }),
);

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function workspace(maxSeq = 48): { dir: string; configPath: string; dataPath: string; configText: (maxSeq: number) => string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-dataset-panel-'));
  const configText = (n: number) =>
    `model:\n  checkpoint: ${path.join(root, 'examples', 'tiny-llama')}\ndata:\n  format: jsonl\n  path: data.jsonl\n  mask_prompt: true\n  max_seq_length: ${n}\nout_dir: out\n`;
  fs.writeFileSync(path.join(dir, 'run.lora.yaml'), configText(maxSeq));
  fs.writeFileSync(path.join(dir, 'data.jsonl'), GOOD.join('\n') + '\n');
  return { dir, configPath: path.join(dir, 'run.lora.yaml'), dataPath: path.join(dir, 'data.jsonl'), configText };
}

function activateHere() {
  fake.resetFakeVscode();
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: root, extensionUri: fake.Uri.file(root) } as never);
  return () => subscriptions.forEach((s) => s.dispose());
}

const posted = (panel: fake.FakeWebviewPanel) => panel.webview.posted as DatasetHostMessage[];
const reports = (panel: fake.FakeWebviewPanel) => posted(panel).flatMap((m) => (m.type === 'dataset-report' ? [m.report] : []));

test('the child is dist/cli.js inspect-data CONFIG --ipc in plain Node, no NODE_OPTIONS, no shell', () => {
  assert.deepEqual(inspectArgs('/ws/a.lora.yaml'), ['inspect-data', '/ws/a.lora.yaml', '--ipc']);
  const options = inspectForkOptions('/ws/a.lora.yaml', { NODE_OPTIONS: '--inspect', PATH: '/bin' });
  assert.equal(options.cwd, '/ws');
  assert.deepEqual(options.execArgv, []);
  assert.equal(options.env?.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(options.env?.NODE_OPTIONS, undefined);
  assert.equal((options as { shell?: unknown }).shell, undefined);
});

test('panel: CSP page, progress then the report with the numbers of inspect-data --json', async (t) => {
  const ws = workspace();
  const dispose = activateHere();
  t.after(() => {
    dispose();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });
  await fake.commands.executeCommand('loraLab.inspectDataset', fake.Uri.file(ws.configPath));
  assert.equal(fake.createdPanels.length, 1);
  const panel = fake.createdPanels[0];
  assert.equal(panel.viewType, 'loraLab.dataset');
  assert.match(panel.webview.html, /default-src 'none'/);
  assert.match(panel.webview.html, /<script nonce="[A-Za-z0-9]+" src="[^"]*dist\/webview\/dataset\.js">/);
  panel.webview.receive({ type: 'ready' });
  const report = await waitFor('a report', () => reports(panel)[0]);
  const cliRun = spawnSync(process.execPath, [cli, 'inspect-data', ws.configPath, '--json'], { encoding: 'utf8' });
  assert.equal(cliRun.status, 0, cliRun.stderr);
  const fromCli = JSON.parse(cliRun.stdout);
  assert.deepEqual(report.stats, fromCli.stats);
  assert.equal(report.dataset.records, 4);
  assert.equal(report.dataset.train + report.dataset.validation, 4);
  assert.ok(
    posted(panel).some((m) => m.type === 'dataset-progress' && m.phase === 'tokenizing'),
    'progress reached the page',
  );
});

test('refresh: a saved data file with a bad row lists it; its link opens the line; a config save that changes the data section re-inspects', async (t) => {
  const ws = workspace();
  const dispose = activateHere();
  t.after(() => {
    dispose();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });
  await fake.commands.executeCommand('loraLab.inspectDataset', fake.Uri.file(ws.configPath));
  const panel = fake.createdPanels[0];
  panel.webview.receive({ type: 'ready' });
  await waitFor('the first report', () => reports(panel)[0]);

  fs.writeFileSync(ws.dataPath, [GOOD[0], GOOD[1], '{"instruction": "broken", "output": ', GOOD[2]].join('\n') + '\n');
  fake.savedDocuments.fire({ uri: fake.Uri.file(ws.dataPath), getText: () => '' });
  const second = await waitFor('a report after the data changed', () => reports(panel)[1]);
  assert.deepEqual(
    second.rejected.map((issue) => [issue.file, issue.line]),
    [[ws.dataPath, 3]],
  );
  assert.match(second.rejected[0].message, /^malformed JSON line/);
  assert.equal(second.dataset.records, 3);

  panel.webview.receive({ type: 'open-location', file: ws.dataPath, line: 3 });
  await waitFor('the data file opened', () => fake.shownDocuments[0]);
  assert.equal(fake.shownDocuments[0].path, ws.dataPath);
  const selection = (fake.shownDocuments[0].options as { selection: fake.Range }).selection;
  assert.equal(selection.start.line, 2, 'line 3 is 0-based line 2');
  panel.webview.receive({ type: 'open-location', file: '/etc/passwd', line: 1 });
  assert.equal(fake.shownDocuments.length, 1, 'a file that is not the data is not opened');

  fs.writeFileSync(ws.configPath, ws.configText(8));
  fake.savedDocuments.fire({ uri: fake.Uri.file(ws.configPath), getText: () => ws.configText(8) });
  const third = await waitFor('a report after max_seq_length changed', () => reports(panel)[2]);
  assert.equal(third.maxSeqLength, 8);
  assert.ok(third.stats.truncated > 0, 'the shorter limit truncates');
});

test('a config that cannot be inspected posts an error naming the problem; the serializer revives a saved panel', async (t) => {
  const ws = workspace();
  const dispose = activateHere();
  t.after(() => {
    dispose();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });
  fs.writeFileSync(ws.configPath, 'model:\n  checkpoint: nowhere\ndata:\n  format: jsonl\n  path: data.jsonl\n');
  const serializer = fake.registeredSerializers.get('loraLab.dataset') as {
    deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void>;
  };
  const panel = new fake.FakeWebviewPanel('loraLab.dataset', 'restored');
  await serializer.deserializeWebviewPanel(panel, { configPath: ws.configPath, sample: 2 });
  assert.match(panel.webview.html, /dataset\.js/);
  panel.webview.receive({ type: 'ready' });
  const error = await waitFor('an error', () => posted(panel).find((m) => m.type === 'dataset-error'));
  assert.match(error.type === 'dataset-error' ? error.message : '', /nowhere/);
  const broken = new fake.FakeWebviewPanel('loraLab.dataset', 'bad state');
  await serializer.deserializeWebviewPanel(broken, { nothing: true });
  assert.equal(broken.disposed, true, 'a panel without a saved config is closed');
});

test('DatasetInspection: a new start ends the child in flight; only the newest run reports', async (t) => {
  const ws = workspace();
  t.after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
  const messages: InspectMessage[] = [];
  const inspection = new DatasetInspection(cli, (message) => messages.push(message));
  inspection.start(ws.configPath);
  inspection.start(ws.configPath);
  await waitFor('a report', () => messages.find((m) => m.type !== 'inspect-progress'));
  assert.equal(messages.filter((m) => m.type !== 'inspect-progress').length, 1);
  assert.equal(messages.find((m) => m.type !== 'inspect-progress')?.type, 'inspect-report');
  assert.equal(inspection.running, false);
  inspection.start(ws.configPath);
  assert.equal(inspection.running, true);
  inspection.dispose();
  assert.equal(inspection.running, false);
});
