// The comparison panel in the host, through the real commands and a recorded webview: the code lens
// command opens a CSP page; on 'ready' it posts the sweep's variants and the config's runs (not the
// other config's); an edit of the config re-estimates (debounced); curves of selected runs; copy;
// unknown messages ignored; "Compare Runs" with the Runs view's (node, nodes[]) compares exactly
// those runs; the serializer revives a saved panel.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { runDirsOfArgs } from '../../../extension/src/commands/compare-runs';
import type { CompareHostMessage } from '../../../webview/src/compare/protocol';
import { makeCompareWorkspace, SWEEP_CONFIG, variantConfig, writeRun } from '../helpers/compare-fixtures';

const root = process.cwd();

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-compare-panel-'));
  const configPath = makeCompareWorkspace(dir);
  const runs = path.join(dir, 'runs');
  fs.mkdirSync(runs);
  const v0 = variantConfig(configPath, SWEEP_CONFIG, 0);
  writeRun(runs, { name: 'a-r4', config: v0, scores: { arc_easy: [0.3, 0.02, 0.25] } });
  writeRun(runs, { name: 'b-r8', config: variantConfig(configPath, SWEEP_CONFIG, 1) });
  writeRun(runs, { name: 'c-other', config: { ...v0, configPath: path.join(dir, 'other.lora.yaml') } });
  fake.resetFakeVscode();
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: root, extensionUri: fake.Uri.file(root) } as never);
  return {
    dir,
    configPath,
    runs,
    dispose: () => {
      subscriptions.forEach((s) => s.dispose());
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const posted = (panel: fake.FakeWebviewPanel) => panel.webview.posted as CompareHostMessage[];
const runNames = (panel: fake.FakeWebviewPanel) =>
  posted(panel)
    .flatMap((m) => (m.type === 'compare-runs' ? m.runs.map((r) => r.name) : []))
    .sort();

test('Show Memory/Time Trade-offs opens the panel: variants, then the runs of this config only; edits re-estimate', async (t) => {
  const ws = setup();
  t.after(ws.dispose);
  // The code lens passes the config's path.
  await fake.commands.executeCommand('loraLab.showTradeoffs', ws.configPath);
  assert.equal(fake.createdPanels.length, 1);
  const panel = fake.createdPanels[0];
  assert.equal(panel.viewType, 'loraLab.compare');
  assert.equal(panel.title, 'Compare: sweep.lora.yaml');
  assert.match(panel.webview.html, /default-src 'none'/);
  assert.match(panel.webview.html, /<script nonce="[A-Za-z0-9]+" src="[^"]*dist\/webview\/compare\.js">/);
  assert.equal(posted(panel).length, 0, 'nothing is posted before the page is ready');

  panel.webview.receive({ type: 'ready' });
  const config = await waitFor('the variants', () => posted(panel).find((m) => m.type === 'compare-config'));
  assert.equal(config.type === 'compare-config' && config.facts.variants.length, 3);
  assert.deepEqual(config.type === 'compare-config' && config.subject, { mode: 'config', configPath: ws.configPath });
  await waitFor('every folder read', () => posted(panel).some((m) => m.type === 'compare-runs' && m.total === 3 && m.read === 3));
  assert.deepEqual(runNames(panel), ['a-r4', 'b-r8'], "the other config's run is not listed");

  // An edit (not saved) re-estimates after the debounce.
  fs.writeFileSync(ws.configPath, SWEEP_CONFIG.replace('lora.r: [4, 8, 16]', 'lora.r: [4, 8]'));
  fake.changedDocuments.fire({ document: { uri: fake.Uri.file(ws.configPath), getText: () => '' } });
  await waitFor('two variants after the edit', () =>
    posted(panel).some((m) => m.type === 'compare-config' && m.facts.variants.length === 2),
  );

  // A new run folder of this config appears without reopening (a later scan).
  writeRun(ws.runs, { name: 'd-new', config: variantConfig(ws.configPath, SWEEP_CONFIG, 0) });
  fake.changedDocuments.fire({ document: { uri: fake.Uri.file(ws.configPath), getText: () => '' } });
  await waitFor('the new run posted', () => runNames(panel).includes('d-new'));

  panel.webview.receive({ type: 'curves', runDirs: [path.join(ws.runs, 'a-r4')] });
  const curve = await waitFor('a loss curve', () => posted(panel).find((m) => m.type === 'compare-curve'));
  assert.equal(curve.type === 'compare-curve' && curve.loss.length, 6, 'one point per train line');

  panel.webview.receive({ type: 'copy', text: 'lora:\n  r: 8\n', what: 'the settings' });
  await waitFor('the clipboard', () => fake.env.clipboard.text === 'lora:\n  r: 8\n');
  panel.webview.receive({ type: 'start-variant', variant: -3 });
  panel.webview.receive({ type: 'nonsense' });

  // The same config again reveals the open panel.
  await fake.commands.executeCommand('loraLab.showTradeoffs', fake.Uri.file(ws.configPath));
  assert.equal(fake.createdPanels.length, 1);
  assert.ok(panel.revealed > 0);
});

test('Compare Runs: the runs selected in the Runs view, exactly; the serializer revives a saved panel', async (t) => {
  const ws = setup();
  t.after(ws.dispose);
  const node = (name: string) => ({ kind: 'run', view: { dir: path.join(ws.runs, name) } });
  assert.deepEqual(runDirsOfArgs([node('a-r4'), [node('a-r4'), node('c-other')]]), [
    path.join(ws.runs, 'a-r4'),
    path.join(ws.runs, 'c-other'),
  ]);
  assert.deepEqual(runDirsOfArgs([path.join(ws.runs, 'b-r8')]), [path.join(ws.runs, 'b-r8')]);
  await fake.commands.executeCommand('loraLab.compareRuns', node('a-r4'), [node('a-r4'), node('c-other')]);
  const panel = fake.createdPanels[0];
  assert.equal(panel.title, 'Compare 2 runs');
  panel.webview.receive({ type: 'ready' });
  await waitFor('both runs', () => runNames(panel).length === 2);
  assert.deepEqual(runNames(panel), ['a-r4', 'c-other'], 'whatever their configs');
  const runs = posted(panel).flatMap((m) => (m.type === 'compare-runs' ? m.runs : []));
  assert.ok(
    runs.every((r) => r.predicted && r.predicted.peakBytes > 0),
    "each run's prediction from its own config.yaml",
  );

  const serializer = fake.registeredSerializers.get('loraLab.compare') as {
    deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void>;
  };
  const restored = new fake.FakeWebviewPanel('loraLab.compare', 'restored');
  await serializer.deserializeWebviewPanel(restored, { subject: { mode: 'config', configPath: ws.configPath }, sortKey: 'peak' });
  assert.match(restored.webview.html, /compare\.js/);
  restored.webview.receive({ type: 'ready' });
  await waitFor('the revived panel reads its runs', () => runNames(restored).length === 2);
  const junk = new fake.FakeWebviewPanel('loraLab.compare', 'junk');
  await serializer.deserializeWebviewPanel(junk, { nothing: true });
  assert.ok(junk.disposed, 'a state that is not ours closes the panel');
});
