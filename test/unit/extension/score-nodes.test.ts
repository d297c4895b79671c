// The Runs view's evaluation children: one node per task of summary.eval with value ± stderr and the
// delta to the base, a status node while running / after a stop / on failure, and through activate
// a run with scores is collapsible with those children (a click opens the run's dashboard).
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { evalChildren } from '../../../extension/src/eval/score-nodes';
import type { RunsNode } from '../../../extension/src/runs-model';
import { runJson } from './run-fixtures';
import { evalSummary } from '../helpers/eval-fixtures';

const view = (evaluation = evalSummary()) => ({
  dir: '/o/run-a',
  run: runJson({ status: 'completed', summary: { eval: evaluation } as never }),
});

test('completed: one node per task, value ± stderr and Δ vs base, icon by direction', () => {
  const nodes = evalChildren(view());
  assert.deepEqual(
    nodes.map((n) => [n.label, n.description, n.icon.id]),
    [
      ['arithmetic_2ds', '0.4200 ± 0.0705 · Δ \u22120.0400', 'arrow-down'],
      ['heldout', '0.3000 ± 0.0655', 'dash'],
      ['wikitext_ppl', '12.50 · Δ \u22121.750', 'arrow-up'],
    ],
  );
  assert.ok(nodes.every((n) => n.contextValue === 'loraScore' && n.runDir === '/o/run-a'));
  assert.deepEqual(nodes[0].tooltip, [
    'arithmetic_2ds — acc (higher is better)',
    '0.4200 ± 0.0705 over 50 documents',
    'base model 0.4600 ± 0.0712 · Δ \u22120.0400 (worse)',
    'final adapter (step 200) · limit 50 · 0-shot · profile lm-eval',
    path.join('/o/run-a', 'eval/results_2026-12-06T16-00-00.000.json'),
  ]);
  assert.match(nodes[1].tooltip[2], /base model not evaluated/);
  assert.deepEqual(evalChildren({ dir: '/o/b', run: runJson({ status: 'completed' }) }), [], 'never evaluated: no children');
});

test('running, stopped and failed evaluations get a status node first', () => {
  const running = evalChildren(view(evalSummary({ status: 'running', tasks: {}, resultsFile: null })));
  assert.deepEqual(
    running.map((n) => [n.label, n.icon.id, n.contextValue]),
    [['evaluating…', 'sync~spin', 'loraEvalStatus']],
  );
  const stopped = evalChildren(view(evalSummary({ status: 'stopped' })));
  assert.equal(stopped[0].label, 'evaluation stopped');
  assert.equal(stopped[0].description, 'partial scores below');
  assert.equal(stopped.length, 4);
  const failed = evalChildren(
    view(
      evalSummary({ status: 'failed', tasks: {}, error: { code: 'E_EVAL_OOM', message: 'out of memory', hint: 'Lower eval.batch_size.' } }),
    ),
  );
  assert.deepEqual(
    failed.map((n) => [n.label, n.description]),
    [['evaluation failed', 'E_EVAL_OOM']],
  );
  assert.deepEqual(failed[0].tooltip.slice(1), ['out of memory', 'Lower eval.batch_size.']);
});

test('through the Runs view: a run with scores is collapsible and lists them; rows read out with their verdict', () => {
  fake.resetFakeVscode();
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-scores-'));
  const write = (name: string, summary?: object) => {
    fs.mkdirSync(path.join(runs, name));
    fs.writeFileSync(path.join(runs, name, 'run.json'), JSON.stringify(runJson({ name, status: 'completed', summary: summary as never })));
  };
  write('scored', { eval: evalSummary() });
  write('plain');
  fake.configuration.set('loraLab.runFolders', [runs]);
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  try {
    const provider = fake.registeredTreeProviders.get('loraLab.runs') as {
      getChildren(n?: RunsNode): RunsNode[];
      getTreeItem(n: RunsNode): fake.TreeItem;
    };
    const [group] = provider.getChildren();
    const byName = new Map(provider.getChildren(group).map((n) => [n.label, n]));
    const scored = byName.get('scored')!;
    assert.equal(provider.getTreeItem(scored).collapsibleState, fake.TreeItemCollapsibleState.Collapsed);
    assert.equal(provider.getTreeItem(byName.get('plain')!).collapsibleState, fake.TreeItemCollapsibleState.None);
    assert.deepEqual(provider.getChildren(byName.get('plain')!), []);
    const items = provider.getChildren(scored).map((n) => provider.getTreeItem(n));
    assert.deepEqual(
      items.map((i) => i.label),
      ['arithmetic_2ds', 'heldout', 'wikitext_ppl'],
    );
    assert.equal(items[0].id, `score:${path.join(runs, 'scored')}:arithmetic_2ds`);
    assert.equal(items[0].contextValue, 'loraScore');
    assert.equal(items[0].collapsibleState, fake.TreeItemCollapsibleState.None);
    assert.equal(items[0].command, undefined, 'no command (its arguments would go stale on refresh)');
    assert.equal(
      (items[0] as unknown as { accessibilityInformation: { label: string } }).accessibilityInformation.label,
      'arithmetic_2ds acc 0.4200 ± 0.0705 · Δ \u22120.0400, worse than the base model',
    );
    assert.match((items[0].tooltip as fake.MarkdownString).value, /base model 0\\\.4600/);
  } finally {
    for (const s of subscriptions) s.dispose();
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
