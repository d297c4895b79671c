// loadConfigFile on the real file system: errors thrown with file:line:col, warnings returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { ConfigError } from '../../../language-server/src/config/types';

test('loadConfigFile returns warnings and hints, throws ConfigError listing every error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'ck'));
  for (const name of ['config.json', 'tokenizer.json', 'model.safetensors'])
    writeFileSync(join(dir, 'ck', name), name === 'config.json' ? '{"hidden_size": 64, "num_attention_heads": 4}' : '{}');
  writeFileSync(join(dir, 'data.json'), '[]');
  writeFileSync(
    join(dir, 'ok.lora.yaml'),
    'model:\n  checkpoint: ck\n  quantize: bnb.nf4\ndata:\n  path: data.json\ndevice: cpu\neval:\n  tasks: [arithmetic_4ds]\n',
  );
  const parsed = loadConfigFile(join(dir, 'ok.lora.yaml'));
  assert.equal(parsed.config.model.checkpoint, join(dir, 'ck'));
  assert.deepEqual(
    parsed.problems.map((p) => p.code),
    ['quantize-on-cpu'],
  );
  assert.equal(nodeFileSystem.isDirectory(join(dir, 'ck')), true);
  assert.deepEqual(nodeFileSystem.listDir(join(dir, 'ck')).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);

  writeFileSync(join(dir, 'bad.lora.yaml'), 'model:\n  checkpoint: ck\ndata:\n  path: missing.json\nlora:\n  r: 65\n  alpha: 130\n');
  assert.throws(
    () => loadConfigFile(join(dir, 'bad.lora.yaml')),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.map((p) => p.code).join() === 'rank-exceeds-dimension,data-path-missing' &&
      /bad\.lora\.yaml:6:6: error: lora\.r 65 is larger/.test(error.message) &&
      /bad\.lora\.yaml:4:9: error: data\.path .*missing\.json does not exist/.test(error.message),
  );
  assert.throws(() => loadConfigFile(join(dir, 'absent.lora.yaml')), /cannot read the config file/);
});
