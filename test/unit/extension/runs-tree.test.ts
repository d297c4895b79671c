// The Runs view through activate: the registered provider lists the run folders of the configured
// folders as groups and items (icon, context, tooltip as escaped text, click opens the dashboard),
// and the context keys follow.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import type { RunsNode } from '../../../extension/src/runs-model';
import { runJson } from './run-fixtures';

test('the Runs provider shows run folders as config groups with run items', async () => {
  fake.resetFakeVscode();
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-tree-'));
  const write = (name: string, extra: object) => {
    fs.mkdirSync(path.join(runs, name));
    fs.writeFileSync(path.join(runs, name, 'run.json'), JSON.stringify(runJson({ name, configPath: '/ws/demo.lora.yaml', ...extra })));
  };
  write('done-1', { status: 'completed', step: 10, totalSteps: 10, startedMs: 1 });
  write('broken-2', { status: 'failed', startedMs: 2, error: { code: 'E_DATA', message: 'row 3: *not* [markdown](x)' } });
  fs.mkdirSync(path.join(runs, 'done-1', 'adapter'));
  fs.writeFileSync(path.join(runs, 'done-1', 'adapter', 'adapter_config.json'), '{}');
  fake.configuration.set('loraLab.runFolders', [runs]);
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  const provider = fake.registeredTreeProviders.get('loraLab.runs') as {
    getChildren(n?: RunsNode): RunsNode[];
    getTreeItem(n: RunsNode): fake.TreeItem;
  };
  const [group] = provider.getChildren();
  const groupItem = provider.getTreeItem(group);
  assert.equal(groupItem.label, 'demo.lora.yaml');
  assert.equal(groupItem.collapsibleState, fake.TreeItemCollapsibleState.Expanded);
  const items = provider.getChildren(group).map((n) => provider.getTreeItem(n));
  assert.deepEqual(
    items.map((i) => i.label),
    ['broken-2', 'done-1'],
    'newest first',
  );
  assert.deepEqual(
    items.map((i) => i.contextValue),
    ['loraRun.failed', 'loraRun.completed.adapter'],
  );
  assert.deepEqual(
    items.map((i) => (i.iconPath as fake.ThemeIcon).id),
    ['error', 'pass'],
  );
  const tooltip = (items[0].tooltip as fake.MarkdownString).value;
  assert.match(tooltip, /\\\*not\\\* \\\[markdown\\\]\\\(x\\\)/, 'run text is escaped, not rendered as markdown');
  // The row's command has no arguments (VS Code caches commands with arguments per row render, and
  // a refresh disposes them); it opens the run the click selected.
  assert.deepEqual(items[1].command, { command: 'loraLab.openSelectedRun', title: 'Open Dashboard' });
  fake.treeViews.get('loraLab.runs')!.selection = [provider.getChildren(group)[1]];
  fake.executedCommands.length = 0;
  await fake.commands.executeCommand('loraLab.openSelectedRun');
  assert.deepEqual(
    fake.executedCommands.filter((c) => c.id === 'loraLab.openDashboard'),
    [{ id: 'loraLab.openDashboard', args: [path.join(runs, 'done-1')] }],
  );
  assert.equal(fake.treeViewOptions.get('loraLab.runs')?.canSelectMany, true, 'Ctrl/Shift-click selects several runs');
  assert.equal(fake.contextKeys.get('loraLab.hasRuns'), true);
  assert.equal(fake.contextKeys.get('loraLab.hasActiveRuns'), false);
  for (const s of subscriptions) s.dispose();
});
