// The host's activate registers exactly the commands package.json declares (read from the
// manifest, so manifest and code cannot drift) and the Runs view's provider.
import './../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';

const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8'));

test('activate registers every command the manifest declares, and no other', () => {
  fake.resetFakeVscode();
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext' } as never);
  const declared = (manifest.contributes.commands as { command: string }[]).map((c) => c.command).sort();
  assert.ok(declared.includes('loraLab.startRun'));
  assert.deepEqual([...fake.registeredCommands.keys()].sort(), declared);
  assert.equal(fake.shownMessages.filter((m) => m.level === 'error').length, 0);
  for (const s of subscriptions) s.dispose();
  assert.equal(fake.registeredCommands.size, 0, 'every registration is disposed with the extension');
});

test('every view the manifest declares gets a data provider', () => {
  fake.resetFakeVscode();
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext' } as never);
  const views = Object.values(manifest.contributes.views as Record<string, { id: string }[]>).flat();
  for (const view of views) assert.ok(fake.registeredTreeProviders.has(view.id), `no provider for ${view.id}`);
  for (const s of subscriptions) s.dispose();
});
