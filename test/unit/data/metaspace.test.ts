// The metaspace split that speeds up SentencePiece-style BPE must give exactly the library's tokens:
// compared on fixture records and seeded random texts (spaces runs, newlines, unicode, special tokens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { seededRandom } from '../../../language-server/src/lib/data/split';
import { alpacaPrompt } from '../../../language-server/src/lib/data/prompts';
import { loadDataset } from '../../../language-server/src/lib/data/dataset';
import { llama2Dir, llama2Tokenizer, llama3Tokenizer } from './tokenizers';

test('the split is used for Llama 2 style tokenizers and not for byte-level BPE with a pre-tokenizer', () => {
  assert.equal(llama2Tokenizer().metaspaceSplit, true);
  assert.equal(llama3Tokenizer().metaspaceSplit, false);
});

test('split and whole-text BPE give identical ids', () => {
  const fast = llama2Tokenizer();
  const json = readFileSync(join(llama2Dir, 'tokenizer.json'), 'utf8');
  const slow = new TextTokenizer(json, readFileSync(join(llama2Dir, 'tokenizer_config.json'), 'utf8'), [], { metaspaceSplit: false });
  assert.equal(slow.metaspaceSplit, false);
  const pieces = [
    'the',
    'The',
    'quick',
    'brown',
    'naïve',
    'Zürich',
    '数据',
    '🤗',
    '12345',
    '3.14',
    'x=y',
    '##',
    ':',
    '\n',
    '\n\n',
    '\t',
    ' ',
    '  ',
    '   ',
    '<s>',
    '</s>',
    "don't",
    'ﬁ',
    'İ',
    '\u00a0',
    'a\u2581b',
    '\u2581',
  ];
  const random = seededRandom(7);
  const texts: string[] = loadDataset(join(process.cwd(), 'test', 'fixtures', 'data', 'alpaca-small.json'), 'alpaca').records.map(
    (r) => alpacaPrompt(r) + r.output,
  );
  for (let i = 0; i < 150; i++) {
    const length = 1 + Math.floor(random() * 25);
    let text = '';
    for (let k = 0; k < length; k++) text += pieces[Math.floor(random() * pieces.length)] + (random() < 0.6 ? ' ' : '');
    texts.push(random() < 0.2 ? ` ${text}` : text);
  }
  for (const text of texts) assert.deepEqual(fast.encode(text), slow.encode(text), JSON.stringify(text));
});
