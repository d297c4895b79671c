// Trust gating: start, resume and merge are refused in an untrusted workspace with a message that
// says why; through the real command, no trainer is forked and the refusal is shown.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { trustRefusal } from '../../../extension/src/trust';
import { activate } from '../../../extension/src/extension';

test('trustRefusal: nothing when trusted; a reason naming the action when not', () => {
  for (const action of ['start', 'resume', 'merge', 'evaluate'] as const) {
    assert.equal(trustRefusal(action, true), undefined);
    const message = trustRefusal(action, false) ?? '';
    assert.match(message, /untrusted workspace/);
    assert.match(message, /Viewing runs/);
  }
  assert.match(trustRefusal('merge', false) ?? '', /Merging adapters/);
});

test('the start, resume and merge commands refuse in an untrusted workspace and queue nothing', async () => {
  fake.resetFakeVscode();
  fake.workspaceState.isTrusted = false;
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  for (const id of ['loraLab.startRun', 'loraLab.resumeRun', 'loraLab.mergeAdapter', 'loraLab.evaluateRun']) {
    fake.shownMessages.length = 0;
    await fake.commands.executeCommand(id, '/some/run');
    assert.equal(fake.shownMessages.length, 1, id);
    assert.match(fake.shownMessages[0].text, /untrusted workspace/, id);
  }
  assert.notEqual(fake.contextKeys.get('loraLab.hasActiveRuns'), true);
  for (const s of subscriptions) s.dispose();
});
