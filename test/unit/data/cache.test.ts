// The tokenized-data cache: round trip, atomic write, keys that change with every input, damage
// detection, and prepareData using it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheFilePath, dataCacheKey, readTokenizedCache, writeTokenizedCache } from '../../../native/trainer/data/cache';
import { prepareData } from '../../../native/trainer/data/pipeline';
import { parseConfig } from '../../../language-server/src/config/parse';
import type { TokenizedExample } from '../../../language-server/src/lib/data/example';
import { llama2Tokenizer } from './tokenizers';

const examples: TokenizedExample[] = [
  { id: 0, inputIds: Int32Array.from([1, 2, 3]), maskedLength: 2, promptLength: 2, truncated: false, prefixViolation: true },
  { id: 5, inputIds: Int32Array.from([1, 128000, -7, 9]), maskedLength: 0, promptLength: 3, truncated: true, prefixViolation: false },
];

test('cache round trip, atomic write, damaged and foreign files are misses', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = 'ab'.repeat(32);
  assert.equal(readTokenizedCache(join(dir, 'nested'), key), null);
  const path = writeTokenizedCache(join(dir, 'nested'), key, examples);
  assert.deepEqual(readdirSync(join(dir, 'nested')), [path.split('/').pop()], 'no temp file left behind');
  assert.deepEqual(readTokenizedCache(join(dir, 'nested'), key), examples);
  assert.equal(readTokenizedCache(join(dir, 'nested'), 'ab'.repeat(16) + 'cd'.repeat(16)), null, 'same file name prefix, other key');
  writeFileSync(cacheFilePath(join(dir, 'nested'), key), Buffer.from('LLDATA01garbage'));
  assert.equal(readTokenizedCache(join(dir, 'nested'), key), null);
});

test('the cache key changes with the data, tokenizer, template, masking and length', () => {
  const base = {
    dataBytes: Buffer.from('[1]'),
    format: 'alpaca',
    tokenizerFingerprint: 't',
    promptFingerprint: 'alpaca:v1',
    maskPrompt: false,
    maxSeqLength: 512,
  };
  const key = dataCacheKey(base);
  assert.equal(dataCacheKey({ ...base }), key);
  for (const change of [
    { dataBytes: Buffer.from('[2]') },
    { format: 'jsonl' },
    { tokenizerFingerprint: 'u' },
    { promptFingerprint: 'chat:x' },
    { maskPrompt: true },
    { maxSeqLength: 256 },
  ]) {
    assert.notEqual(dataCacheKey({ ...base, ...change }), key, JSON.stringify(change));
  }
});

test('prepareData tokenizes, splits, caches and hits the cache the second time', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-prepare-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(process.cwd(), 'test', 'fixtures', 'data', 'alpaca-small.json'), join(dir, 'data.json'));
  const text = 'data:\n  path: data.json\n  mask_prompt: true\n  val_split_fraction: 0.2\n';
  const { config } = parseConfig(text, join(dir, 'x.lora.yaml'));
  const tokenizer = llama2Tokenizer();
  const first = prepareData(config, { tokenizer });
  assert.equal(first.cacheHit, false);
  assert.equal(first.examples.length, 5);
  assert.equal(first.validation.length, 1);
  assert.equal(first.train.length, 4);
  assert.deepEqual(
    first.examples.map((e) => e.id),
    [0, 1, 2, 3, 4],
  );
  assert.ok(first.examples.every((e) => e.maskedLength > 0));
  const second = prepareData(config, { tokenizer });
  assert.equal(second.cacheHit, true);
  assert.deepEqual(second.examples, first.examples);
  assert.deepEqual(
    second.sampler.epochOrder(1).map((e) => e.id),
    first.sampler.epochOrder(1).map((e) => e.id),
  );
  const shorter = parseConfig(`${text}  max_seq_length: 16\n`, join(dir, 'x.lora.yaml')).config;
  const third = prepareData(shorter, { tokenizer });
  assert.equal(third.cacheHit, false);
  assert.ok(third.examples.every((e) => e.inputIds.length <= 16));
  assert.equal(prepareData(config, { tokenizer, cacheDir: null }).cacheHit, false);
});
