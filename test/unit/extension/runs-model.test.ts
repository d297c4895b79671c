// The Runs tree model: states -> items (description, icon, context), grouping by config and sweep
// newest first, the queue group; and the manifest's viewItem `when` clauses against the contexts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunJson, RunState } from '../../../native/trainer/protocol';
import { buildRunsTree, runContextValue, runDescription, type RunsNode, type RunView } from '../../../extension/src/runs-model';
import { runJson } from './run-fixtures';

const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8'));

function view(name: string, state: RunState, extra: Partial<RunJson> = {}, more: Partial<RunView> = {}): RunView {
  return {
    dir: `/out/${name}`,
    run: runJson({ name, status: state === 'crashed' ? 'running' : state, ...extra }),
    state,
    hasAdapter: false,
    etaS: null,
    config: null,
    ...more,
  };
}

test('descriptions by state: progress, loss, ETA, error code', () => {
  assert.equal(
    runDescription(view('a', 'running', { step: 3, totalSteps: 10 }, { lastTrainLoss: 2.34567, etaS: 65 })),
    '3/10 · loss 2.346 · ETA 1m 05s',
  );
  assert.equal(
    runDescription(view('a', 'completed', { step: 10 }, { lastTrainLoss: 1.5, lastValLoss: 1.75 })),
    '10/10 · loss 1.500 · val 1.750',
  );
  assert.equal(runDescription(view('a', 'failed', { error: { code: 'E_OOM', message: 'out of memory' } })), 'failed at 3/10: E_OOM');
  assert.equal(runDescription(view('a', 'crashed')), 'crashed at 3/10');
  assert.equal(runDescription(view('a', 'stopped')), 'stopped at 3/10');
});

test('grouping: queue first, then configs by newest run, sweeps inside, newest first', () => {
  const sweep = (variant: number) => ({ sweep: { id: 's1', variant, variants: 3, overrides: {} } });
  const views = [
    view('old', 'completed', { configPath: '/ws/a.lora.yaml', startedMs: 1 }),
    view('new', 'running', { configPath: '/ws/a.lora.yaml', startedMs: 5 }),
    view('v0', 'completed', { configPath: '/ws/b.lora.yaml', startedMs: 2, ...sweep(0) }),
    view('v1', 'failed', { configPath: '/ws/b.lora.yaml', startedMs: 3, ...sweep(1) }),
  ];
  const tree = buildRunsTree(views, [{ id: 7, label: 'b [3/3]', configPath: '/ws/b.lora.yaml' }]);
  const shape = (nodes: RunsNode[]): unknown => nodes.map((n) => (n.kind === 'group' ? { [n.label]: shape(n.children) } : n.label));
  assert.deepEqual(shape(tree), [
    { Queue: ['b [3/3]'] },
    { 'a.lora.yaml': ['new', 'old'] },
    { 'b.lora.yaml': [{ 'sweep s1': ['v1', 'v0'] }] },
  ]);
  const queue = tree[0] as Extract<RunsNode, { kind: 'group' }>;
  assert.equal(queue.children[0].description, '#1 in queue');
  assert.equal(queue.children[0].kind === 'queued' && queue.children[0].contextValue, 'loraQueued');
  const b = tree[2] as Extract<RunsNode, { kind: 'group' }>;
  assert.equal(b.children[0].description, '2/3 variants · 2 runs');
  assert.equal((tree[1] as Extract<RunsNode, { kind: 'group' }>).description, '2 runs · 1 running');
});

test('the manifest offers each action exactly on the contexts the model produces for it', () => {
  const menus = manifest.contributes.menus['view/item/context'] as { command: string; when: string }[];
  const commandsFor = (contextValue: string) => {
    const found = new Set<string>();
    for (const entry of menus) {
      const match = /viewItem =~ \/(.+)\/$/.exec(entry.when);
      assert.ok(match, `when clause tests viewItem: ${entry.when}`);
      if (new RegExp(match[1]).test(contextValue)) found.add(entry.command.replace('loraLab.', ''));
    }
    return [...found].sort();
  };
  const ctx = (state: RunState, hasAdapter = false) => runContextValue({ state, hasAdapter });
  assert.deepEqual(commandsFor(ctx('running')), ['compareRuns', 'openDashboard', 'revealRunFolder', 'showLogs', 'stopRun']);
  assert.deepEqual(commandsFor(ctx('completed', true)), [
    'chatWithModel',
    'compareRuns',
    'deleteRun',
    'evaluateRun',
    'mergeAdapter',
    'openDashboard',
    'revealRunFolder',
    'showLogs',
  ]);
  assert.deepEqual(commandsFor(ctx('completed')), [
    'compareRuns',
    'deleteRun',
    'evaluateRun',
    'openDashboard',
    'revealRunFolder',
    'showLogs',
  ]);
  assert.deepEqual(commandsFor(ctx('stopped')), [
    'compareRuns',
    'deleteRun',
    'evaluateRun',
    'openDashboard',
    'resumeRun',
    'revealRunFolder',
    'showLogs',
  ]);
  for (const state of ['failed', 'crashed'] as const) {
    assert.deepEqual(
      commandsFor(ctx(state)),
      ['compareRuns', 'deleteRun', 'openDashboard', 'resumeRun', 'revealRunFolder', 'showLogs'],
      state,
    );
  }
  assert.deepEqual(commandsFor('loraQueued'), ['stopRun']);
  assert.deepEqual(commandsFor('loraGroup'), []);
});

test('every command a menu names is declared, and every declared command has a function', () => {
  const declared = new Set((manifest.contributes.commands as { command: string }[]).map((c) => c.command));
  for (const entries of Object.values(manifest.contributes.menus as Record<string, { command: string }[]>)) {
    for (const entry of entries) assert.ok(declared.has(entry.command), entry.command);
  }
  for (const welcome of manifest.contributes.viewsWelcome as { contents: string }[]) {
    for (const [, id] of welcome.contents.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(declared.has(id), id);
  }
});
