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
  fs.writeFileSync(path.join(dir, 'model', 'config.json'), JSON.stringify({ hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, vocab_size: 100 }));
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
  assert.ok(plan.errors.some((e) => /^line 2: /.test(e)), plan.errors.join('\n'));
  assert.ok(plan.errors.some((e) => /missing\.json|data\.path/.test(e)), plan.errors.join('\n'));
});

test('planStart: a valid config gives its name, device and variants', () => {
  const dir = workspace();
  const single = planStart(valid, path.join(dir, 'tiny.lora.yaml'));
  assert.deepEqual(single, { errors: [], name: 'tiny', device: 'cpu', variants: 1 });
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
