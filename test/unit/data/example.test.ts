// Prompt styles and tokenizeExample on real tokenizers: the exact Alpaca template, token counts
// computed from the pieces, EOS after every response, mask boundaries, prefix violations, truncation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { alpacaPrompt, plainPrompt } from '../../../language-server/src/lib/data/prompts';
import { IGNORE_INDEX, labelsOf, tokenizeExample } from '../../../language-server/src/lib/data/example';
import { loadDataset } from '../../../language-server/src/lib/data/dataset';
import { llama2Tokenizer, llama3Tokenizer } from './tokenizers';

const records = loadDataset(join(process.cwd(), 'test', 'fixtures', 'data', 'alpaca-small.json'), 'alpaca').records;
const NO_INPUT_HEADER =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n';
const INPUT_HEADER =
  'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n';

test("the Alpaca template, with and without input, is exactly Lit-GPT's", () => {
  assert.equal(alpacaPrompt({ instruction: 'Say hi.', input: '' }), `${NO_INPUT_HEADER}Say hi.\n\n### Response:\n`);
  assert.equal(
    alpacaPrompt({ instruction: 'Translate.', input: 'Hallo' }),
    `${INPUT_HEADER}Translate.\n\n### Input:\nHallo\n\n### Response:\n`,
  );
  assert.equal(plainPrompt({ instruction: 'Say hi.', input: '' }), 'Say hi.\n');
  assert.equal(plainPrompt({ instruction: 'Translate.', input: 'Hallo' }), 'Translate.\n\nHallo\n');
});

// Llama 3's pre-tokenizer split (tokenizer.json's regex, with the inline (?i:) group spelt out):
// BPE never merges across these chunks, so a text's token count is the sum over its chunks.
const LLAMA3_SPLIT =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

test('Llama 3: Alpaca example lengths equal the sum over independently encoded pre-token chunks, plus EOS', () => {
  const tokenizer = llama3Tokenizer();
  const count = (text: string): number =>
    (text.match(LLAMA3_SPLIT) ?? []).reduce((sum, chunk) => sum + tokenizer.encode(chunk, { bos: false }).length, 0);
  for (const record of records) {
    const prompt = alpacaPrompt(record);
    assert.ok(prompt.startsWith(record.input ? INPUT_HEADER : NO_INPUT_HEADER));
    const bos = tokenizer.addBos ? 1 : 0;
    const example = tokenizeExample(tokenizer, record.index, record, { promptStyle: 'alpaca', maskPrompt: true, maxSeqLength: 4096 });
    assert.equal(example.promptLength, bos + count(prompt), record.instruction);
    assert.equal(example.inputIds.length, bos + count(prompt + record.output) + 1, record.instruction);
    assert.equal(example.inputIds[example.inputIds.length - 1], tokenizer.eosId);
    assert.equal(example.prefixViolation, false);
    assert.equal(example.truncated, false);
    assert.equal(tokenizer.decode([...example.inputIds]), `${prompt}${record.output}<|end_of_text|>`);
  }
});

test('Llama 2: BOS first, EOS last, mask_prompt masks exactly the prompt tokens', () => {
  const tokenizer = llama2Tokenizer();
  for (const record of records) {
    const example = tokenizeExample(tokenizer, record.index, record, { promptStyle: 'alpaca', maskPrompt: true, maxSeqLength: 4096 });
    const promptIds = tokenizer.encode(alpacaPrompt(record));
    assert.equal(example.prefixViolation, false);
    assert.equal(example.promptLength, promptIds.length);
    assert.deepEqual([...example.inputIds.subarray(0, promptIds.length)], promptIds);
    assert.equal(example.inputIds[0], tokenizer.bosId);
    assert.equal(example.inputIds[example.inputIds.length - 1], tokenizer.eosId);
    const labels = labelsOf(example);
    assert.ok(labels.subarray(0, example.promptLength).every((label) => label === IGNORE_INDEX));
    assert.ok(labels.subarray(example.promptLength).every((label) => label !== IGNORE_INDEX));
    assert.equal(tokenizer.decode([...example.inputIds.subarray(example.promptLength)]), `${record.output}</s>`);
    const unmasked = tokenizeExample(tokenizer, record.index, record, { promptStyle: 'alpaca', maskPrompt: false, maxSeqLength: 4096 });
    assert.equal(unmasked.maskedLength, 0);
    assert.deepEqual(labelsOf(unmasked), unmasked.inputIds);
  }
});

test('a prompt whose last token merges with the response is counted and only the common prefix is masked', () => {
  const tokenizer = llama3Tokenizer();
  const record = { instruction: 'List one item', input: '', output: '\n- apple' };
  const promptIds = tokenizer.encode(plainPrompt(record));
  const fullIds = tokenizer.encode(plainPrompt(record) + record.output);
  let common = 0;
  while (promptIds[common] === fullIds[common]) common++;
  assert.ok(common < promptIds.length, 'the fixture really merges across the boundary');
  const example = tokenizeExample(tokenizer, 0, record, { promptStyle: 'plain', maskPrompt: true, maxSeqLength: 512 });
  assert.equal(example.prefixViolation, true);
  assert.equal(example.maskedLength, common);
});

test('truncation to max_seq_length is counted', () => {
  const tokenizer = llama2Tokenizer();
  const record = records[0];
  const full = tokenizeExample(tokenizer, 0, record, { promptStyle: 'alpaca', maskPrompt: true, maxSeqLength: 4096 });
  const cut = tokenizeExample(tokenizer, 0, record, { promptStyle: 'alpaca', maskPrompt: true, maxSeqLength: full.inputIds.length - 3 });
  assert.equal(cut.truncated, true);
  assert.deepEqual([...cut.inputIds], [...full.inputIds.subarray(0, full.inputIds.length - 3)]);
  const exact = tokenizeExample(tokenizer, 0, record, { promptStyle: 'alpaca', maskPrompt: true, maxSeqLength: full.inputIds.length });
  assert.equal(exact.truncated, false);
  const inPrompt = tokenizeExample(tokenizer, 0, record, { promptStyle: 'alpaca', maskPrompt: true, maxSeqLength: 10 });
  assert.equal(inPrompt.maskedLength, 10, 'a prompt cut short is masked entirely');
});

test('chat style on Llama 3: one BOS from the template, the response after the assistant header, then EOS', () => {
  const tokenizer = llama3Tokenizer();
  const record = records[1];
  const example = tokenizeExample(tokenizer, 1, record, { promptStyle: 'chat', maskPrompt: true, maxSeqLength: 512 });
  const ids = [...example.inputIds];
  assert.equal(ids[0], tokenizer.bosId);
  assert.equal(ids.filter((id) => id === tokenizer.bosId).length, 1);
  assert.equal(
    ids[example.promptLength - 1] === tokenizer.tokenToId('<|end_header_id|>') ||
      tokenizer.decode(ids.slice(0, example.promptLength)).endsWith('assistant<|end_header_id|>\n\n'),
    true,
  );
  assert.equal(tokenizer.decode(ids.slice(example.promptLength)), `${record.output}<|end_of_text|>`);
  assert.match(
    tokenizer.decode(ids.slice(0, example.promptLength)),
    /user<\|end_header_id\|>\n\nTranslate the sentence into French\.\n\nThe cat sleeps on the sofa\.<\|eot_id\|>/,
  );
});
