// The Runs view's identity and selection: tree nodes keep their objects across refreshes and only
// changed rows are refreshed; a run row's click argument is its folder; (node, nodes[]) turn into
// run folders; Delete over a selection falls back to a confirmed permanent delete without a trash;
// Rename writes label.json atomically; Start asks before a large sweep with its total time.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { deleteFolders } from '../../../extension/src/commands/delete-run';
import { checkpointOfArg, runDirsOfArgs } from '../../../extension/src/commands/pick-run';
import { sweepConfirmation } from '../../../extension/src/commands/start-run';
import { readRunLabel, writeRunLabel } from '../../../extension/src/run-folder';
import type { RunsNode, RunView } from '../../../extension/src/runs-model';
import { buildRunsTree } from '../../../extension/src/runs-tree-build';
import { StableTree } from '../../../extension/src/runs-tree-sync';
import { runJson } from './run-fixtures';

function view(name: string, extra: Partial<RunView> = {}, run: Parameters<typeof runJson>[0] = {}): RunView {
  return {
    dir: `/out/${name}`,
    run: runJson({ name, status: 'completed', ...run }),
    state: 'completed',
    hasAdapter: false,
    etaS: null,
    config: null,
    ...extra,
  };
}

test('a refresh keeps node objects and refreshes only the rows that changed', () => {
  const tree = new StableTree();
  const done = view('done', {}, { startedMs: 1 });
  const live = (step: number) => view('live', { state: 'running' }, { status: 'running', step, startedMs: 2 });
  assert.equal(tree.update(buildRunsTree([done, live(1)])), undefined, 'the first build refreshes everything');
  const group = tree.roots[0] as Extract<RunsNode, { kind: 'group' }>;
  const [liveNode, doneNode] = group.children;
  const changed = tree.update(buildRunsTree([done, live(2)]));
  assert.ok(changed, 'same roots: a partial refresh');
  assert.deepEqual(
    changed.map((n) => n.id),
    ['run:/out/live'],
    'only the training row changed',
  );
  assert.equal(tree.roots[0], group, 'the group is the same object');
  assert.equal(group.children[0], liveNode, 'the training row is the same object, updated in place');
  assert.equal(group.children[1], doneNode);
  assert.match(liveNode.description, /^running · 2\/10/);
  assert.deepEqual(tree.update(buildRunsTree([done, live(2)])), [], 'nothing changed: nothing refreshed');
  const withCheckpoint = view('done', { checkpoints: [{ step: 10, dir: '/out/done/checkpoints/step-000010' }] }, { startedMs: 1 });
  assert.deepEqual(
    tree.update(buildRunsTree([withCheckpoint, live(2)]))!.map((n) => n.id),
    ['run:/out/done'],
    'a new child refreshes its parent row',
  );
});

test('(node, nodes[]) and tree nodes turn into run folders; checkpoint rows name their checkpoint', () => {
  const [group] = buildRunsTree([
    view('a', { checkpoints: [{ step: 4, dir: '/out/a/checkpoints/step-000004' }] }, { startedMs: 1 }),
    view('b', {}, { startedMs: 2 }),
  ]);
  const [b, a] = (group as Extract<RunsNode, { kind: 'group' }>).children as Extract<RunsNode, { kind: 'run' }>[];
  assert.deepEqual(runDirsOfArgs(a, [a, b]), ['/out/a', '/out/b'], 'the selection holds the clicked row');
  assert.deepEqual(runDirsOfArgs(a, [b]), ['/out/a'], 'a right-click outside the selection acts on that row');
  assert.deepEqual(runDirsOfArgs('/out/b'), ['/out/b']);
  assert.deepEqual(runDirsOfArgs(undefined), []);
  const checkpoint = a.children[0];
  assert.deepEqual(runDirsOfArgs(checkpoint, [checkpoint, a]), ['/out/a'], 'no duplicates');
  assert.deepEqual(checkpointOfArg(checkpoint), { runDir: '/out/a', dir: '/out/a/checkpoints/step-000004', step: 4, latest: true });
  assert.equal(checkpointOfArg(a), undefined);
});

test('deleteFolders: the trash first; without one, permanently only after confirmation', async () => {
  const calls: string[] = [];
  const noTrash = async (dir: string, useTrash: boolean) => {
    calls.push(`${dir}:${useTrash}`);
    if (useTrash) throw new Error('Unable to delete file via trash because provider does not support it');
  };
  const refused = await deleteFolders(['/r/a', '/r/b'], noTrash, async () => false);
  assert.deepEqual([refused.trashed, refused.deleted, [...refused.kept.keys()]], [[], [], ['/r/a', '/r/b']]);
  let asked: [string[], string] | undefined;
  calls.length = 0;
  const confirmed = await deleteFolders(['/r/a', '/r/b'], noTrash, async (dirs, reason) => ((asked = [dirs, reason]), true));
  assert.deepEqual(confirmed.deleted, ['/r/a', '/r/b']);
  assert.deepEqual(
    asked,
    [['/r/a', '/r/b'], 'Unable to delete file via trash because provider does not support it'],
    'asked once, with the reason',
  );
  assert.deepEqual(calls, ['/r/a:true', '/r/b:true', '/r/a:false', '/r/b:false']);
  const trash = await deleteFolders(
    ['/r/c'],
    async () => {},
    async () => assert.fail('no question when the trash works'),
  );
  assert.deepEqual(trash.trashed, ['/r/c']);
});

test('Delete Run over a selection on a host without a trash: confirmed, deleted permanently, and said so', async () => {
  fake.resetFakeVscode();
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-delete-'));
  for (const name of ['one', 'two', 'keep']) {
    fs.mkdirSync(path.join(runs, name));
    fs.writeFileSync(path.join(runs, name, 'run.json'), JSON.stringify(runJson({ name, status: 'completed' })));
  }
  fake.configuration.set('loraLab.runFolders', [runs]);
  const original = fake.workspace.fs.delete;
  fake.workspace.fs.delete = async (uri: fake.Uri, options?: { recursive?: boolean; useTrash?: boolean }) => {
    if (options?.useTrash) throw new Error('Unable to delete file via trash because provider does not support it');
    return original(uri, options);
  };
  const subscriptions: { dispose(): void }[] = [];
  try {
    activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
    const provider = fake.registeredTreeProviders.get('loraLab.runs') as { getChildren(n?: RunsNode): RunsNode[] };
    const rows = provider.getChildren(provider.getChildren()[0]);
    const selected = rows.filter((r) => r.label !== 'keep');
    fake.answers.warning = 'Delete'; // the first question
    const asked: string[] = [];
    const show = fake.window.showWarningMessage;
    fake.window.showWarningMessage = async (text: string) => {
      asked.push(text);
      return asked.length === 1 ? 'Delete' : 'Delete Permanently';
    };
    try {
      await fake.commands.executeCommand('loraLab.deleteRun', selected[0], selected);
    } finally {
      fake.window.showWarningMessage = show;
    }
    assert.equal(asked.length, 2, asked.join(' | '));
    assert.match(asked[0], /Delete 2 runs\?/);
    assert.match(asked[1], /no trash.*permanently/);
    assert.deepEqual(fs.readdirSync(runs).sort(), ['keep']);
    const info = fake.shownMessages.find((m) => m.level === 'info');
    assert.match(info?.text ?? '', /deleted (one, two|two, one) permanently/);
  } finally {
    fake.workspace.fs.delete = original;
    for (const s of subscriptions) s.dispose();
  }
});

test('label.json: written atomically, read back trimmed, an empty label removes it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-label-'));
  assert.equal(readRunLabel(dir), undefined);
  writeRunLabel(dir, '  r=16, longer warmup ');
  assert.equal(readRunLabel(dir), 'r=16, longer warmup');
  assert.deepEqual(fs.readdirSync(dir), ['label.json'], 'no temp file left');
  writeRunLabel(dir, '');
  assert.deepEqual(fs.readdirSync(dir), []);
  fs.writeFileSync(path.join(dir, 'label.json'), '{"label": 3}');
  assert.equal(readRunLabel(dir), undefined, 'a label.json of another shape is ignored');
});

test('the sweep confirmation states the total time, or why it is unknown', () => {
  assert.deepEqual(sweepConfirmation(6, { seconds: 3720, unknown: 0 })[0], 'Start a sweep of 6 variants?');
  assert.match(sweepConfirmation(6, { seconds: 3720, unknown: 0 })[1], /^Estimated total time: 1h 02m\./);
  assert.match(
    sweepConfirmation(6, { seconds: 600, unknown: 2, reason: 'set train.max_steps' })[1],
    /10m 00s for 4 of the 6 variants \(the others: set train.max_steps\)/,
  );
  assert.match(sweepConfirmation(4, { seconds: 0, unknown: 4, reason: 'no calibration' })[1], /unknown \(no calibration\)/);
});

test("Stop Run on a sweep's variant asks: Stop Variant or Stop Sweep", async () => {
  fake.resetFakeVscode();
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-stop-'));
  const dir = path.join(runs, 'sw-1');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify(runJson({ name: 'sw-1', status: 'running', sweep: { id: 'sw', variant: 1, variants: 4, overrides: {} } })),
  );
  fake.configuration.set('loraLab.runFolders', [runs]);
  const subscriptions: { dispose(): void }[] = [];
  const pick = fake.window.showQuickPick;
  let offered: { label: string; description: string }[] = [];
  fake.window.showQuickPick = async (items?: unknown) => {
    offered = items as typeof offered;
    return undefined; // dismissed: nothing is stopped
  };
  try {
    activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
    await fake.commands.executeCommand('loraLab.stopRun', dir);
    assert.deepEqual(
      offered.map((o) => [o.label, o.description]),
      [
        ['Stop Variant', 'variant 1 only; the sweep goes on with the next'],
        ['Stop Sweep', 'variant 1 and the 2 not started yet'],
      ],
    );
    assert.ok(!fake.executedCommands.some((c) => /stopVariant|stopSweep/.test(c.id)));
  } finally {
    fake.window.showQuickPick = pick;
    for (const s of subscriptions) s.dispose();
  }
});
