// Commands through activate and the fake vscode: Delete Run (confirmation, only run folders, never
// a running one) and Create Example Config (copies the bundle, refuses clearly without the model).
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { runJson } from './run-fixtures';

function start(extensionPath = '/ext') {
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath, extensionUri: fake.Uri.file(extensionPath) } as never);
  return () => subscriptions.forEach((s) => s.dispose());
}

test('Delete Run: only after "Delete" is chosen; a running run is refused', async () => {
  fake.resetFakeVscode();
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-del-'));
  for (const [name, status] of [
    ['done', 'completed'],
    ['live', 'running'],
  ] as const) {
    fs.mkdirSync(path.join(runs, name));
    fs.writeFileSync(path.join(runs, name, 'run.json'), JSON.stringify(runJson({ name, status })));
  }
  fake.configuration.set('loraLab.runFolders', [runs]);
  const stop = start();
  const done = path.join(runs, 'done');
  await fake.commands.executeCommand('loraLab.deleteRun', done);
  assert.ok(fs.existsSync(done), 'no answer: kept');
  assert.match(fake.shownMessages.at(-1)!.text, /Delete the run done\?/);
  fake.answers.warning = 'Delete';
  await fake.commands.executeCommand('loraLab.deleteRun', done);
  assert.ok(!fs.existsSync(done), 'deleted after confirmation');
  fake.shownMessages.length = 0;
  await fake.commands.executeCommand('loraLab.deleteRun', path.join(runs, 'live'));
  assert.ok(fs.existsSync(path.join(runs, 'live')));
  assert.match(fake.shownMessages[0].text, /is running; stop it/);
  await fake.commands.executeCommand('loraLab.deleteRun', runs);
  assert.ok(fs.existsSync(runs), 'a folder without run.json is not a run');
  stop();
});

test('Create Example Config copies configs, the tiny model and data; a missing model is a clear error', async () => {
  fake.resetFakeVscode();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-exc-'));
  const extension = path.join(root, 'ext');
  const target = path.join(root, 'ws');
  fs.mkdirSync(path.join(extension, 'examples', 'data'), { recursive: true });
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(extension, 'examples', 'demo.lora.yaml'), 'name: demo\n');
  fs.writeFileSync(path.join(extension, 'examples', 'data', 'alpaca.json'), '[]');
  fake.workspace.workspaceFolders = [{ uri: fake.Uri.file(target) }];
  const stop = start(extension);
  await fake.commands.executeCommand('loraLab.createExampleConfig');
  assert.match(fake.shownMessages.at(-1)!.text, /could not create the example: the bundled tiny model is missing/);
  assert.ok(!fs.existsSync(path.join(target, 'demo.lora.yaml')), 'nothing copied without the model');
  fs.mkdirSync(path.join(extension, 'examples', 'tiny-llama'));
  fs.writeFileSync(path.join(extension, 'examples', 'tiny-llama', 'config.json'), '{}');
  fake.shownMessages.length = 0;
  await fake.commands.executeCommand('loraLab.createExampleConfig');
  assert.deepEqual(fake.shownMessages, []);
  assert.deepEqual(fs.readdirSync(target).sort(), ['data', 'demo.lora.yaml', 'tiny-llama']);
  stop();
});
