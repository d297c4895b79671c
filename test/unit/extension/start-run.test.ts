// Start LoRA Run: the config language's errors refuse the start (listed in a modal message, nothing
// queued); a valid config is planned with its name, queue device and number of sweep variants.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { planStart } from '../../../extension/src/commands/start-run';
import { activate } from '../../../extension/src/extension';

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-start-'));
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(
    path.join(dir, 'model', 'config.json'),
    JSON.stringify({
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      vocab_size: 100,
    }),
  );
  fs.writeFileSync(path.join(dir, 'model', 'model.safetensors'), '');
  fs.writeFileSync(path.join(dir, 'model', 'tokenizer.json'), '{}');
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data', 'alpaca.json'), '[]');
  return dir;
}

const valid = 'name: tiny\nmodel:\n  checkpoint: model\ndata:\n  path: data/alpaca.json\ndevice: cpu\neval:\n  tasks: [arithmetic_2ds]\n';

test('planStart: errors from the config language, with line numbers', () => {
  const dir = workspace();
  const plan = planStart('lora:\n  r: -3\ndata:\n  path: data/missing.json\n', path.join(dir, 'bad.lora.yaml'));
  assert.ok(plan.errors.length >= 2, plan.errors.join('\n'));
  assert.ok(
    plan.errors.some((e) => /^line 2: /.test(e)),
    plan.errors.join('\n'),
  );
  assert.ok(
    plan.errors.some((e) => /missing\.json|data\.path/.test(e)),
    plan.errors.join('\n'),
  );
});

test('planStart: one indentation mistake is listed once, not with its follow-on parser messages', () => {
  const dir = workspace();
  const text =
    'model:\n  checkpoint: model\nlora:\n r: 8\n  alpha: 16\n  dropout: 0.05\n  query: true\n  value: true\ndata:\n  path: data/alpaca.json\n';
  const plan = planStart(text, path.join(dir, 'indent.lora.yaml'));
  assert.equal(plan.errors.length, 1, plan.errors.join('\n'));
  assert.match(plan.errors[0], /^line 4: YAML syntax: .* more problems in the rest of 'lora' follow from this one/);
});

test('planStart: a checkpoint with config.json alone (estimate yes) refuses the start with what to download', () => {
  const dir = workspace();
  fs.rmSync(path.join(dir, 'model', 'model.safetensors'));
  const plan = planStart(valid, path.join(dir, 'tiny.lora.yaml'));
  assert.deepEqual(plan.errors.length, 1, plan.errors.join('\n'));
  assert.match(plan.errors[0], /^line 3: model\.checkpoint .* has config\.json but lacks \*\.safetensors: .*training needs them/);
});

test('planStart: a valid config gives its name, device and variants', () => {
  const dir = workspace();
  const { configs, ...single } = planStart(valid, path.join(dir, 'tiny.lora.yaml'));
  assert.equal(configs.length, 1);
  assert.deepEqual(single, { errors: [], name: 'tiny', device: 'cpu', variants: 1, writesOutside: [] });
  const sweep = planStart(`${valid}sweep:\n  lora.r: [4, 8, 16]\n  lora.alpha: ["=2*lora.r"]\n`, path.join(dir, 'tiny.lora.yaml'));
  assert.deepEqual(sweep.errors, []);
  assert.equal(sweep.variants, 3);
});

test('the command refuses a config with errors: a modal with the problems, nothing queued', async () => {
  fake.resetFakeVscode();
  const dir = workspace();
  const config = path.join(dir, 'bad.lora.yaml');
  fs.writeFileSync(config, 'lora:\n  r: -3\n');
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  await fake.commands.executeCommand('loraLab.startRun', fake.Uri.file(config));
  const errors = fake.shownMessages.filter((m) => m.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0].text, /bad\.lora\.yaml has \d+ errors?; fix them/);
  assert.notEqual(fake.contextKeys.get('loraLab.hasActiveRuns'), true);
  for (const s of subscriptions) s.dispose();
});

test('planStart: out_dir outside the workspace folders (any sweep variant) is listed', () => {
  const dir = workspace();
  const outside = path.join(os.tmpdir(), 'lora-outside-runs');
  const plan = planStart(`${valid}out_dir: ${outside}\n`, path.join(dir, 'tiny.lora.yaml'), [dir]);
  assert.deepEqual(plan.writesOutside, [outside]);
  assert.deepEqual(planStart(`${valid}out_dir: out/x\n`, path.join(dir, 'tiny.lora.yaml'), [dir]).writesOutside, []);
  assert.deepEqual(
    planStart(`${valid}out_dir: ../up\n`, path.join(dir, 'tiny.lora.yaml')).writesOutside,
    [path.join(path.dirname(dir), 'up')],
    'no workspace folder: the config folder',
  );
});

test('Start asks once per config before writing outside the workspace; a refusal queues nothing and asks again', async () => {
  fake.resetFakeVscode();
  // a queued run forks /ext/dist/cli.js, which does not exist: it fails at once, the queueing is what counts here
  const dir = workspace();
  fake.workspace.workspaceFolders = [{ uri: fake.Uri.file(dir) }];
  const config = path.join(dir, 'tiny.lora.yaml');
  fs.writeFileSync(config, `${valid}out_dir: ../outside-runs\n`);
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  const start = async () => fake.commands.executeCommand('loraLab.startRun', fake.Uri.file(config));
  const asked = () =>
    fake.shownMessages.filter((m) => m.level === 'warning' && /writes its runs outside the workspace/.test(m.text)).length;
  const queued = () => fake.executedCommands.filter((c) => c.id === 'loraLab.runs.focus').length;

  await start(); // dismissed
  assert.deepEqual([asked(), queued()], [1, 0]);
  assert.match(
    fake.shownMessages.at(-1)!.text,
    new RegExp(
      `tiny\\.lora\\.yaml writes its runs outside the workspace, to ${path.join(path.dirname(dir), 'outside-runs').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
    ),
  );
  fake.answers.warning = 'Write There';
  await start();
  assert.deepEqual([asked(), queued()], [2, 1]);
  fake.answers.warning = undefined;
  await start(); // remembered for this config
  assert.deepEqual([asked(), queued()], [2, 2]);
  fs.writeFileSync(config, `${valid}out_dir: ../other-runs\n`);
  await start(); // another folder: asked again
  assert.deepEqual([asked(), queued()], [3, 2]);
  fs.writeFileSync(config, `${valid}out_dir: out/inside\n`);
  await start();
  assert.deepEqual([asked(), queued()], [3, 3]);
  for (const s of subscriptions) s.dispose();
});
