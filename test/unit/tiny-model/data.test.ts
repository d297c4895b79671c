// The generated data: chat template (rendered by @huggingface/jinja), Alpaca JSON/CSV, the corpus's
// arithmetic, the held-out set's isolation, determinism, and that the committed files are current.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Template } from '@huggingface/jinja';
import {
  CHAT_TEMPLATE,
  buildTinyModelData,
  generateAlpaca,
  generateCorpus,
  generateShortAnswers,
  renderChat,
  SHORT_ANSWER_FAMILIES,
  type ChatMessage,
  type InstructionRecord,
} from '../../../scripts/tiny-model/index';

const repoRoot = join(__dirname, '..', '..', '..');
const readRepo = (...parts: string[]): string => readFileSync(join(repoRoot, ...parts), 'utf8');

function renderWithJinja(messages: ChatMessage[], addGenerationPrompt: boolean): string {
  const config = JSON.parse(readRepo('examples', 'tiny-llama', 'tokenizer_config.json'));
  assert.equal(config.chat_template, CHAT_TEMPLATE);
  return new Template(config.chat_template).render({
    messages,
    bos_token: config.bos_token,
    eos_token: config.eos_token,
    add_generation_prompt: addGenerationPrompt,
  });
}

test('the chat template renders with @huggingface/jinja, starts with <s> and equals renderChat', () => {
  const conversations: ChatMessage[][] = [
    [{ role: 'user', content: 'What colour is a banana?' }],
    [
      { role: 'system', content: 'You are a helpful assistant.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
    ],
    [
      { role: 'user', content: 'A' },
      { role: 'assistant', content: 'B' },
      { role: 'user', content: 'C\n\nwith "quotes" and {{ braces }}' },
    ],
  ];
  for (const messages of conversations) {
    for (const addGenerationPrompt of [false, true]) {
      const rendered = renderWithJinja(messages, addGenerationPrompt);
      assert.ok(rendered.startsWith('<s>'));
      assert.equal(rendered, renderChat(messages, { bosToken: '<s>', eosToken: '</s>' }, addGenerationPrompt));
    }
  }
  assert.equal(
    renderWithJinja(conversations[1], false),
    '<s>### System:\nYou are a helpful assistant.\n\n### User:\nHi\n\n### Assistant:\nHello.</s>',
  );
  assert.ok(renderWithJinja(conversations[0], true).endsWith('### User:\nWhat colour is a banana?\n\n### Assistant:\n'));
  assert.throws(() => renderWithJinja([{ role: 'tool' as ChatMessage['role'], content: 'x' }], false), /Unknown chat role: tool/);
});

test('tokenizer_config.json and generation_config.json agree with tokenizer.json', () => {
  const tokenizer = JSON.parse(readRepo('examples', 'tiny-llama', 'tokenizer.json'));
  const config = JSON.parse(readRepo('examples', 'tiny-llama', 'tokenizer_config.json'));
  const generation = JSON.parse(readRepo('examples', 'tiny-llama', 'generation_config.json'));
  const idOf = (token: string): number => tokenizer.model.vocab[token];
  assert.equal(config.tokenizer_class, 'PreTrainedTokenizerFast');
  assert.equal(config.add_bos_token, true);
  assert.equal(config.add_eos_token, false);
  assert.deepEqual(tokenizer.post_processor.single[0], { SpecialToken: { id: config.bos_token, type_id: 0 } });
  assert.equal(generation.bos_token_id, idOf(config.bos_token));
  assert.equal(generation.eos_token_id, idOf(config.eos_token));
  assert.equal(generation.pad_token_id, idOf(config.pad_token));
  for (const added of tokenizer.added_tokens) assert.equal(config.added_tokens_decoder[String(added.id)].content, added.content);
});

const ARITHMETIC_WORDS = /\b(plus|minus|add|adds|added|subtract|subtracted|sum|difference|times|multiply|divided)\b/i;

function assertValidRecords(records: InstructionRecord[]): void {
  const keys = new Set<string>();
  for (const record of records) {
    assert.deepEqual(Object.keys(record).sort(), ['input', 'instruction', 'output']);
    assert.ok(record.instruction.length > 0 && record.output.length > 0);
    for (const field of [record.instruction, record.input, record.output]) {
      assert.ok(!/[0-9]/.test(field), `no digits: ${field}`);
      assert.ok(!ARITHMETIC_WORDS.test(field), `no arithmetic: ${field}`);
    }
    keys.add(`${record.instruction}\u0000${record.input}`);
  }
  assert.equal(keys.size, records.length, 'records are distinct');
}

/** A small RFC 4180 reader, enough to check our CSV writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  assert.equal(field + row.join(''), '', 'CSV ends with a newline');
  return rows;
}

test('alpaca.json: distinct valid records without arithmetic, some with input; the CSV sample parses back to its first records', () => {
  const records: InstructionRecord[] = JSON.parse(readRepo('examples', 'data', 'alpaca.json'));
  assert.ok(records.length >= 300 && records.length <= 3000);
  assertValidRecords(records);
  const withInput = records.filter((r) => r.input !== '').length;
  assert.ok(withInput > records.length * 0.2 && withInput < records.length * 0.9, `with input: ${withInput}`);
  assert.ok(
    records.some((r) => r.input.includes('\n') || r.output.includes('\n')),
    'some records span lines',
  );
  const sortTask = records.find((r) => r.instruction === 'Sort these words in alphabetical order.');
  assert.ok(sortTask);
  assert.equal(sortTask.output, sortTask.input.split(', ').sort().join(', '));

  const rows = parseCsv(readRepo('examples', 'data', 'alpaca-sample.csv'));
  assert.deepEqual(rows[0], ['instruction', 'input', 'output']);
  const sample = rows.slice(1).map(([instruction, input, output]) => ({ instruction, input, output }));
  assert.ok(sample.length >= 100);
  assert.deepEqual(sample, records.slice(0, sample.length));
  assertValidRecords(generateAlpaca({ count: 400, seed: 7 }));
});

test('corpus arithmetic is correct, and no held-out question appears anywhere in the corpus', () => {
  const corpus = generateCorpus();
  const heldOutFile = readRepo('examples', 'data', 'eval', 'arithmetic_2ds_heldout.jsonl')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.deepEqual(heldOutFile, corpus.heldOut);
  assert.equal(corpus.heldOut.length, 200);
  const question = /^Question: What is (\d+) (plus|minus) (\d+)\?\nAnswer:$/;
  const heldOutQuestions = new Set<string>();
  for (const record of corpus.heldOut) {
    const match = question.exec(record.context);
    assert.ok(match, record.context);
    const [left, right] = [Number(match[1]), Number(match[3])];
    assert.ok(left >= 10 && left <= 99 && right >= 10 && right <= 99);
    assert.equal(record.completion, ` ${match[2] === 'plus' ? left + right : left - right}`);
    heldOutQuestions.add(record.context.slice('Question: '.length, record.context.indexOf('?') + 1));
  }
  assert.equal(heldOutQuestions.size, 200);
  assert.equal(corpus.heldOut.filter((r) => r.context.includes('plus')).length, 100);

  let arithmetic = 0;
  for (const document of corpus.documents) {
    for (const text of heldOutQuestions) assert.ok(!document.text.includes(text), `held-out "${text}" leaked into ${document.kind}`);
    if (!document.kind.startsWith('arithmetic')) continue;
    arithmetic++;
    const match = /^Question: What is (\d+) (plus|minus) (\d+)\?\nAnswer: (-?\d+)$/.exec(document.text);
    assert.ok(match, document.text);
    const [left, right, answer] = [Number(match[1]), Number(match[3]), Number(match[4])];
    assert.equal(answer, match[2] === 'plus' ? left + right : left - right, document.text);
  }
  assert.equal(arithmetic, 16000 + 6000);
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name)) : [join(dir, name)]));
}

test('builds are byte-identical run to run, and the committed files equal a fresh default build', () => {
  const small = {
    corpus: { twoDigitCount: 500, fourDigitCount: 200, statementDocs: 300, alpacaDocs: 100, chatDocs: 100 },
    bpe: { vocabSize: 500 },
    alpaca: { count: 150 },
    csvSampleCount: 40,
  };
  const dirs = [
    mkdtempSync(join(tmpdir(), 'tiny-data-a-')),
    mkdtempSync(join(tmpdir(), 'tiny-data-b-')),
    mkdtempSync(join(tmpdir(), 'tiny-data-full-')),
  ];
  try {
    for (const dir of dirs.slice(0, 2)) buildTinyModelData({ ...small, rootDir: dir, corpusPath: join(dir, 'corpus.jsonl') });
    const filesA = listFiles(dirs[0])
      .map((path) => relative(dirs[0], path))
      .sort();
    assert.equal(filesA.length, 10);
    for (const file of filesA)
      assert.ok(readFileSync(join(dirs[0], file)).equals(readFileSync(join(dirs[1], file))), `${file} differs between runs`);

    const report = buildTinyModelData({ rootDir: dirs[2], corpusPath: join(dirs[2], 'corpus.jsonl') });
    assert.equal(report.vocabSize, 2048);
    for (const path of report.files.filter((p) => p.includes(join(dirs[2], 'examples')))) {
      const committed = join(repoRoot, relative(dirs[2], path));
      assert.ok(
        readFileSync(path).equals(readFileSync(committed)),
        `${relative(repoRoot, committed)} is stale: run npx tsx scripts/tiny-model/build-data.ts`,
      );
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});

test('short-answer instructions: every family in both splits, held-out items never in train, answers from the word lists', () => {
  const { train, heldOut } = generateShortAnswers();
  const committed = (file: string) =>
    readRepo('examples', 'data', file)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  assert.deepEqual(committed('instructions-train.jsonl'), train);
  assert.deepEqual(committed('instructions-heldout.jsonl'), heldOut);
  const key = (r: { instruction: string; input: string }) => `${r.instruction}\u0000${r.input}`;
  const trainKeys = new Set(train.map(key));
  assert.equal(trainKeys.size, train.length, 'train records are distinct');
  for (const r of heldOut) assert.ok(!trainKeys.has(key(r)), `held-out ${r.input} is also in train`);
  for (const family of SHORT_ANSWER_FAMILIES) {
    const count = (rs: { family: string }[]) => rs.filter((r) => r.family === family.name).length;
    assert.ok(count(heldOut) >= 1 && count(train) > count(heldOut), `${family.name}: ${count(train)} train, ${count(heldOut)} held out`);
    const answers = new Map(family.items.map(([input, output]) => [input, output]));
    for (const r of [...train, ...heldOut].filter((x) => x.family === family.name)) {
      assert.equal(r.instruction, family.instruction);
      assert.equal(r.output, answers.get(r.input), `${family.name}: ${r.input}`);
    }
  }
  assert.ok(heldOut.length >= 50 && train.length >= 4 * heldOut.length - 10, `${train.length} train, ${heldOut.length} held out`);
  const sentiment = heldOut.filter((r) => r.family === 'sentiment');
  assert.ok(sentiment.some((r) => r.output === 'positive') && sentiment.some((r) => r.output === 'negative'));
});
