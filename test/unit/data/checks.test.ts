// Data checks before and during training: a token id outside the model's vocabulary is E_TOKEN_RANGE
// naming the file and the record; examples whose labels are all masked are E_BATCH naming
// data.mask_prompt / data.max_seq_length (whole training split at preparation, or one step's records).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../language-server/src/config/parse';
import { DataCheckError, checkStepTargets } from '../../../native/trainer/data/checks';
import type { TokenizedExample } from '../../../language-server/src/lib/data/example';
import { prepareTrainingData } from '../../../native/trainer/run/training-data';
import { TINY_TOKENIZER_DIR } from '../helpers/tiny-checkpoint';

const RECORDS = [
  { instruction: 'Add 2 and 3.', output: '5' },
  { instruction: 'Name a colour.', output: 'Blue, the colour of the sky on a clear day.' },
  { instruction: 'Say hello.', output: 'Hello there, how are you today?' },
];

function workspace(t: { after: (fn: () => void) => void }, vocabSize: number, data: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-checks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'ck'));
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'])
    copyFileSync(join(TINY_TOKENIZER_DIR, name), join(dir, 'ck', name));
  writeFileSync(join(dir, 'ck', 'config.json'), JSON.stringify({ hidden_size: 32, num_attention_heads: 4, vocab_size: vocabSize }));
  writeFileSync(join(dir, 'train.json'), JSON.stringify(RECORDS, null, 1));
  writeFileSync(
    join(dir, 'run.lora.yaml'),
    `model:\n  checkpoint: ck\ndata:\n  path: train.json\n  val_split_fraction: 0\n${data}train:\n  global_batch_size: 1\n  micro_batch_size: 1\n`,
  );
  return dir;
}

function prepare(dir: string) {
  const { config, problems } = parseConfig(readFileSync(join(dir, 'run.lora.yaml'), 'utf8'), join(dir, 'run.lora.yaml'));
  assert.deepEqual(
    problems.filter((problem) => problem.severity === 'error'),
    [],
  );
  return prepareTrainingData(config, join(dir, 'cache'));
}

test('a token id beyond the checkpoint vocab_size is E_TOKEN_RANGE naming the data file and the record', (t) => {
  const dir = workspace(t, 40, '');
  assert.throws(
    () => prepare(dir),
    (error: unknown) => {
      assert.ok(error instanceof DataCheckError);
      assert.equal(error.code, 'E_TOKEN_RANGE');
      assert.match(
        error.message,
        new RegExp(
          `^${join(dir, 'train.json')}: record 1 \\(line 2\\) has token id \\d+ at position \\d+, outside the model's vocabulary of 40 \\(vocab_size in ${join(dir, 'ck', 'config.json')}\\); 3 record\\(s\\)`,
        ),
      );
      assert.match(error.hint, /tokenizer/);
      return true;
    },
  );
  assert.equal(prepare(workspace(t, 2048, '')).train.length, 3, 'the matching vocabulary passes');
});

test('when every label is masked, E_BATCH names data.mask_prompt and data.max_seq_length before step 1', (t) => {
  const dir = workspace(t, 2048, '  mask_prompt: true\n  max_seq_length: 8\n');
  assert.throws(
    () => prepare(dir),
    (error: unknown) => {
      assert.ok(error instanceof DataCheckError);
      assert.equal(error.code, 'E_BATCH');
      assert.match(
        error.message,
        /none of the 3 training examples has a label that takes loss: with data\.mask_prompt: true their prompts fill all data\.max_seq_length 8 tokens/,
      );
      assert.match(error.hint, /Raise data\.max_seq_length.*data\.mask_prompt: false/);
      return true;
    },
  );
});

test('a step whose examples are all masked is E_BATCH naming its records', () => {
  const example = (id: number, length: number, masked: number): TokenizedExample => ({
    id,
    inputIds: new Int32Array(length),
    maskedLength: masked,
    promptLength: masked,
    truncated: true,
    prefixViolation: false,
  });
  const { config } = parseConfig('data:\n  path: d.json\n  mask_prompt: true\n  max_seq_length: 16\n', '/p/run.lora.yaml');
  const records = [0, 1, 2].map((index) => ({ instruction: 'i', input: '', output: 'o', index, line: 3 * index + 2 }));
  assert.doesNotThrow(() => checkStepTargets(4, [example(0, 16, 16), example(1, 16, 10)], config, records));
  assert.throws(
    () => checkStepTargets(4, [example(0, 16, 16), example(2, 16, 16)], config, records),
    /^DataCheckError: step 4: none of the 2 example\(s\) of this step \(record 1 \(line 2\), record 3 \(line 8\) of \/p\/d\.json\) has a label that takes loss: with data\.mask_prompt: true/,
  );
});
