// The schema's defaults equal the example block of language-server/CONFIG.md (the config file's reference,
// in the repository), and every key there is in the schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KEY_SPECS, describeRange, hoverText, keySpec } from '../../../language-server/src/config/schema';
import { parseConfig } from '../../../language-server/src/config/parse';
import { checkValue } from '../../../language-server/src/config/values';
import { defaultConfigText } from '../../../language-server/src/config/template';

const configDoc = join(__dirname, '../../../language-server/CONFIG.md');

function flatten(value: Record<string, unknown>, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, item] of Object.entries(value)) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (item && typeof item === 'object' && !Array.isArray(item) && key !== 'sweep')
      for (const [k, v] of flatten(item as Record<string, unknown>, dotted)) out.set(k, v);
    else out.set(dotted, item);
  }
  return out;
}

test('schema defaults equal the example block of CONFIG.md', () => {
  const markdown = readFileSync(configDoc, 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(markdown);
  assert.ok(block, 'CONFIG.md has a yaml block');
  const example = flatten(parse(block[1]) as Record<string, unknown>);
  example.delete('sweep');
  example.delete('name'); // the example names its run; the default is the file name
  for (const [key, value] of example) {
    const spec = keySpec(key);
    assert.ok(spec, `CONFIG.md key ${key} is in the schema`);
    assert.deepEqual(spec.default, value, `default of ${key}`);
  }
  const documented = new Set(example.keys());
  for (const spec of KEY_SPECS) if (spec.key !== 'name') assert.ok(documented.has(spec.key), `schema key ${spec.key} is in CONFIG.md`);
});

test('the example block of CONFIG.md parses without errors and its sweep expands', () => {
  const block = /```yaml\n([\s\S]*?)```/.exec(readFileSync(configDoc, 'utf8'))!;
  const parsed = parseConfig(block[1], '/w/example.lora.yaml');
  assert.deepEqual(
    parsed.problems.filter((p) => p.severity === 'error'),
    [],
  );
  assert.equal(parsed.variants.length, 6);
  assert.deepEqual(parsed.variants[5].overrides, { 'lora.r': 256, 'lora.alpha': 512 });
});

test('every key has documentation, defaults that pass its own checks, and hover text', () => {
  for (const spec of KEY_SPECS) {
    assert.ok(spec.doc.length > 10, spec.key);
    assert.ok(checkValue(spec, spec.default).ok, `default of ${spec.key} passes its checks`);
    const hover = hoverText(spec);
    assert.match(hover, new RegExp(`Default: `));
    if (spec.finding) assert.match(hover, /Article: /);
  }
  assert.match(hoverText(keySpec('model.quantize')!), /21\.33 GB -\\> 14\.18 GB/);
  assert.match(hoverText(keySpec('train.max_steps')!), /micro-batches/);
  assert.equal(describeRange(keySpec('lora.dropout')!), '>= 0 and < 1');
  assert.match(describeRange(keySpec('device')!), /cuda:/);
});

test('the generated new-config text parses back to every default', () => {
  const text = defaultConfigText({ name: 'first-run', 'lora.r': 16, 'lora.alpha': 32 });
  const parsed = parseConfig(text, '/w/new.lora.yaml');
  assert.deepEqual(parsed.problems, []);
  assert.equal(parsed.config.name, 'first-run');
  assert.equal(parsed.config.lora.r, 16);
  const plain = parseConfig(defaultConfigText(), '/w/new.lora.yaml');
  assert.deepEqual(plain.problems, []);
  assert.deepEqual(plain.config, parseConfig('', '/w/new.lora.yaml').config);
  for (const spec of KEY_SPECS) if (spec.key !== 'name') assert.ok(plain.setValues.has(spec.key), `${spec.key} is written`);
  assert.match(text, /quantize: none {2}# none \| bnb\.nf4/);
});
