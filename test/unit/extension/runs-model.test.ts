// The Runs tree model: states -> items (description, icon, context), grouping by config and sweep
// newest first, the queue group; and the manifest's viewItem `when` clauses against the contexts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunJson, RunState } from '../../../native/trainer/protocol';
import { runContextValue, runDescription, type RunsNode, type RunView } from '../../../extension/src/runs-model';
import { buildRunsTree } from '../../../extension/src/runs-tree-build';
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
    'running · 3/10 · loss 2.346 · ETA 1m 05s',
  );
  assert.equal(
    runDescription(view('a', 'completed', { step: 10 }, { lastTrainLoss: 1.5, lastValLoss: 1.75 })),
    'completed · 10/10 · loss 1.500 · val 1.750',
  );
  assert.equal(runDescription(view('a', 'failed', { error: { code: 'E_OOM', message: 'out of memory' } })), 'failed at 3/10: E_OOM');
  assert.equal(runDescription(view('a', 'crashed')), 'crashed at 3/10');
  assert.equal(runDescription(view('a', 'stopped')), 'stopped at 3/10');
});

test('grouping: queue first, then configs by newest run; a sweep node lists every variant in order', () => {
  const sweep = (variant: number) => ({ sweep: { id: 's1', variant, variants: 3, overrides: { 'lora.r': 4 * (variant + 1) } } });
  const views = [
    view('old', 'completed', { configPath: '/ws/a.lora.yaml', startedMs: 1 }),
    view('new', 'running', { configPath: '/ws/a.lora.yaml', startedMs: 5 }),
    view('v0', 'completed', { configPath: '/ws/b.lora.yaml', startedMs: 2, ...sweep(0) }),
    view(
      'v1',
      'stopped',
      { configPath: '/ws/b.lora.yaml', startedMs: 3, ...sweep(1) },
      { sweepPlan: [{ 'lora.r': 4 }, { 'lora.r': 8 }, { 'lora.r': 12 }] },
    ),
  ];
  const tree = buildRunsTree(views, [{ id: 7, label: 'b [3/3]', configPath: '/ws/b.lora.yaml' }]);
  const shape = (nodes: RunsNode[]): unknown =>
    nodes.map((n) => (n.kind === 'group' || n.kind === 'sweep' ? { [n.label]: shape(n.children) } : n.label));
  assert.deepEqual(shape(tree), [
    { Queue: ['b [3/3]'] },
    { 'a.lora.yaml': ['new', 'old'] },
    { 'b.lora.yaml': [{ 'sweep s1': ['v0', 'v1', 'variant 2'] }] },
  ]);
  const queue = tree[0] as Extract<RunsNode, { kind: 'group' }>;
  assert.equal(queue.children[0].description, 'queued · #1 in queue');
  assert.equal(queue.children[0].kind === 'queued' && queue.children[0].contextValue, 'loraQueued');
  const sweepNode = (tree[2] as Extract<RunsNode, { kind: 'group' }>).children[0] as Extract<RunsNode, { kind: 'sweep' }>;
  assert.equal(sweepNode.description, '3 variants · 1 completed · 1 stopped · 1 never run');
  assert.equal(sweepNode.contextValue, 'loraSweep', 'an ended sweep offers no Stop Sweep');
  const [v0, , v2] = sweepNode.children;
  assert.equal(v0.description, 'completed · 3/10 · r=4', "a variant's row names its overrides");
  assert.equal(v0.contextValue, 'loraRun.completed.variant');
  assert.equal(v2.kind, 'variant');
  assert.equal(v2.description, 'never run · r=12', 'the variant that never ran, with its settings from the sweep plan');
  assert.equal((tree[1] as Extract<RunsNode, { kind: 'group' }>).description, '2 runs · 1 running');
});

test("a live sweep's missing variants are queued and the sweep can be stopped", () => {
  const sweep = (variant: number) => ({ configPath: '/ws/b.lora.yaml', sweep: { id: 's2', variant, variants: 3, overrides: {} } });
  const tree = buildRunsTree([view('v0', 'stopped', { ...sweep(0), startedMs: 1 }), view('v1', 'running', { ...sweep(1), startedMs: 2 })]);
  const node = (tree[0] as Extract<RunsNode, { kind: 'group' }>).children[0] as Extract<RunsNode, { kind: 'sweep' }>;
  assert.equal(node.contextValue, 'loraSweep.live');
  assert.deepEqual(
    node.children.map((c) => c.description.split(' · ')[0]),
    ['stopped at 3/10', 'running', 'queued'],
  );
  assert.equal(node.children[1].contextValue, 'loraRun.running.variant');
});

test('runs of one config show the settings that differ; a label renames the row; checkpoints are children', () => {
  const settings = (r: string, lr: string) => ({ 'lora.r': r, 'train.learning_rate': lr, 'train.epochs': '1', name: 'x' });
  const a = view('a', 'completed', { startedMs: 1 }, { settings: settings('8', '0.001') });
  const b = view(
    'b',
    'completed',
    { startedMs: 2 },
    {
      settings: settings('16', '0.001'),
      label: 'wide adapter',
      checkpoints: [
        { step: 5, dir: '/out/b/checkpoints/step-000005' },
        { step: 10, dir: '/out/b/checkpoints/step-000010' },
      ],
    },
  );
  const [group] = buildRunsTree([a, b]);
  const [nb, na] = (group as Extract<RunsNode, { kind: 'group' }>).children as Extract<RunsNode, { kind: 'run' }>[];
  assert.equal(na.description, 'completed · 3/10 · r=8');
  assert.equal(nb.label, 'wide adapter');
  assert.equal(nb.description, 'completed · 3/10 · r=16');
  assert.match(nb.accessibleLabel ?? '', /^wide adapter, completed\. /, 'the accessible label carries the status word');
  assert.deepEqual(
    nb.children.map((c) => [c.label, c.description, c.contextValue]),
    [
      ['step 10', 'latest checkpoint', 'loraCheckpoint.latest.completed'],
      ['step 5', 'checkpoint', 'loraCheckpoint.completed'],
    ],
  );
  const extra = buildRunsTree(
    [a],
    [],
    [
      (v) => [
        { kind: 'detail', id: `score:${v.dir}`, runDir: v.dir, label: 'arc 0.5', description: '', tooltip: [], contextValue: 'loraScore' },
      ],
    ],
  );
  const [only] = (extra[0] as Extract<RunsNode, { kind: 'group' }>).children as Extract<RunsNode, { kind: 'run' }>[];
  assert.deepEqual(
    only.children.map((c) => c.label),
    ['arc 0.5'],
    'other features add rows under a run',
  );
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
  const open = ['compareRuns', 'openDashboard', 'renameRun', 'revealRunFolder', 'showLogs'];
  const sorted = (...names: string[]) => names.sort();
  assert.deepEqual(commandsFor(ctx('running')), sorted(...open, 'stopRun'));
  assert.deepEqual(commandsFor(ctx('completed', true)), sorted(...open, 'chatWithModel', 'deleteRun', 'evaluateRun', 'mergeAdapter'));
  assert.deepEqual(commandsFor(ctx('completed')), sorted(...open, 'deleteRun', 'evaluateRun'));
  assert.deepEqual(commandsFor(ctx('stopped')), sorted(...open, 'deleteRun', 'evaluateRun', 'resumeRun'));
  for (const state of ['failed', 'crashed'] as const) {
    assert.deepEqual(commandsFor(ctx(state)), sorted(...open, 'deleteRun', 'resumeRun'), state);
  }
  const variant = (state: RunState) =>
    runContextValue({ state, hasAdapter: false, run: { sweep: { id: 's', variant: 0, variants: 2, overrides: {} } } });
  assert.deepEqual(commandsFor(variant('running')), sorted(...open, 'stopSweep', 'stopVariant'), 'a variant stops alone or with its sweep');
  assert.deepEqual(commandsFor('loraSweep.live'), ['stopSweep']);
  assert.deepEqual(commandsFor('loraSweep'), []);
  assert.deepEqual(commandsFor('loraVariant.queued'), ['stopSweep']);
  assert.deepEqual(commandsFor('loraVariant.never'), []);
  assert.deepEqual(commandsFor('loraCheckpoint.latest.stopped'), ['chatWithModel', 'evaluateRun', 'mergeAdapter', 'resumeRun']);
  assert.deepEqual(
    commandsFor('loraCheckpoint.latest.completed'),
    ['chatWithModel', 'evaluateRun', 'mergeAdapter'],
    'nothing to resume after the end',
  );
  assert.deepEqual(
    commandsFor('loraCheckpoint.completed'),
    ['chatWithModel', 'evaluateRun', 'mergeAdapter', 'resumeRun'],
    'an earlier checkpoint forks',
  );
  assert.deepEqual(commandsFor('loraCheckpoint.running'), ['chatWithModel', 'mergeAdapter'], 'no evaluation while the run trains');
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
