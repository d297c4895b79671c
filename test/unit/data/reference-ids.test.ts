// Our tokenization against the reference implementation: ids produced by Hugging Face `tokenizers`
// (Rust) for Alpaca prompts and mixed texts (test/fixtures/data/make-reference-ids.py made them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { llama2Tokenizer, llama3Tokenizer } from './tokenizers';

const fixture = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'data', 'reference-ids.json'), 'utf8')) as {
  generator: string;
  texts: string[];
  ids: Record<'llama2' | 'llama3', number[][]>;
};

for (const [name, tokenizer] of [
  ['llama2', llama2Tokenizer],
  ['llama3', llama3Tokenizer],
] as const) {
  test(`${name}: ids equal the reference (${fixture.generator}) for ${fixture.texts.length} texts`, () => {
    assert.equal(fixture.ids[name].length, fixture.texts.length);
    fixture.texts.forEach((text, i) =>
      assert.deepEqual(tokenizer().encode(text, { bos: false }), fixture.ids[name][i], JSON.stringify(text)),
    );
  });
}
