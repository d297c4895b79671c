// Our byte-level BPE against @huggingface/tokenizers: the tokenizer.json we write loads there and
// encodes/decodes exactly like our own encoder, on corpus samples and on hard Unicode text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  BpeTokenizer,
  bpeFromTokenizerJson,
  generateAlpaca,
  generateCorpus,
  renderChat,
  tokenizerConfig,
  tokenizerJson,
  trainBpe,
  alpacaText,
  packCorpus,
  type ByteLevelBpe,
} from '../../../scripts/tiny-model/index';
import { BYTE_TO_UNICODE } from '../../../scripts/tiny-model/byte-level';

const repoRoot = join(__dirname, '..', '..', '..');

const UNICODE_SAMPLES = [
  'héllo wörld, naïve café, Ångström, Øresund, São Paulo',
  'e\u0301 a\u0308 n\u0303 (combining marks) and ǅ ﬁ ligatures',
  '日本語のテキストです。中文句子。한국어 문장.',
  'emoji 😀👍🏽 family 👨‍👩‍👧 flag 🇫🇷 and ❤️',
  'tabs\tand\t\ttabs\nnew\n\nlines\r\nwindows\r\n',
  '   leading spaces, trailing spaces   ',
  "don't, I'll, we've, they're, she'd, IT'S, 'quoted'",
  'Ω≈ç√∫ ±§¶ «guillemets» — dashes – and … ellipsis',
  'مرحبا بالعالم  नमस्ते दुनिया  Привет, мир!',
  'numbers 12345 and -42, 3.14159, 1e10, ٣٤٥ and ² ½',
  'no-break\u00a0space, ideographic\u3000space, zero\u200bwidth, soft\u00adhyphen',
  '<s>inside</s> text <pad> and broken <s </s and <<s>>',
  'Question: What is 59 minus 38?\nAnswer: 21',
  '',
];

let cached: { bpe: ByteLevelBpe; texts: string[] } | null = null;

/** A reduced corpus and a 700-token vocabulary keep this test fast. */
function smallModel(): { bpe: ByteLevelBpe; texts: string[] } {
  if (cached) return cached;
  const corpus = generateCorpus({ twoDigitCount: 800, fourDigitCount: 300, statementDocs: 800, alpacaDocs: 200, chatDocs: 150 });
  const texts = [...corpus.documents.map((d) => d.text), ...generateAlpaca({ count: 200 }).map(alpacaText)];
  cached = { bpe: trainBpe(texts, { vocabSize: 700 }), texts };
  return cached;
}

function hfTokenizer(bpe: ByteLevelBpe): Tokenizer {
  const json = JSON.parse(JSON.stringify(tokenizerJson(bpe)));
  const config = JSON.parse(JSON.stringify(tokenizerConfig(bpe)));
  return new Tokenizer(json, config);
}

function assertSameAsHuggingFace(bpe: ByteLevelBpe, texts: readonly string[]): void {
  const ours = new BpeTokenizer(bpe);
  const theirs = hfTokenizer(bpe);
  for (const text of texts) {
    const ids = ours.encode(text);
    assert.deepEqual(theirs.encode(text).ids, ids, `encode ${JSON.stringify(text)}`);
    assert.deepEqual(theirs.encode(text, { add_special_tokens: false }).ids, ours.encode(text, { addBosToken: false }));
    assert.equal(ours.decode(ids.slice(1)), text, `our round trip of ${JSON.stringify(text)}`);
    if (ids.length > 1)
      assert.equal(theirs.decode(ids.slice(1), { skip_special_tokens: false }), text, `HF round trip of ${JSON.stringify(text)}`);
  }
}

test('the trainer is deterministic, fills the requested vocabulary and covers all 256 bytes', () => {
  const { bpe, texts } = smallModel();
  assert.equal(bpe.vocab.length, 700);
  assert.deepEqual(bpe.vocab.slice(0, 3), ['<pad>', '<s>', '</s>']);
  assert.deepEqual(bpe.vocab.slice(3, 259), [...BYTE_TO_UNICODE]);
  assert.equal(new Set(bpe.vocab).size, bpe.vocab.length);
  for (const [left, right] of bpe.merges) {
    assert.ok(bpe.vocab.includes(left + right), `merge result ${left + right} in vocab`);
    assert.ok(!/[0-9]/.test(left + right), `no digit merges: ${left} ${right}`);
  }
  const again = trainBpe(texts, { vocabSize: 700 });
  assert.deepEqual(again, bpe);
});

test('encodes like @huggingface/tokenizers on corpus samples', () => {
  const { bpe, texts } = smallModel();
  assertSameAsHuggingFace(
    bpe,
    texts.filter((_, i) => i % 7 === 0),
  );
});

test('encodes and round-trips like @huggingface/tokenizers on Unicode, whitespace and special-token text', () => {
  assertSameAsHuggingFace(smallModel().bpe, UNICODE_SAMPLES);
});

test('special tokens encode as single ids and <s> is prepended once', () => {
  const { bpe } = smallModel();
  const ours = new BpeTokenizer(bpe);
  const theirs = hfTokenizer(bpe);
  for (const [id, token] of ['<pad>', '<s>', '</s>'].entries()) {
    assert.deepEqual(ours.encode(token, { addBosToken: false }), [id]);
    assert.deepEqual(theirs.encode(token, { add_special_tokens: false }).ids, [id]);
  }
  const chat = renderChat(
    [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
    ],
    { bosToken: '<s>', eosToken: '</s>' },
  );
  const ids = ours.encode(chat, { addBosToken: false });
  assert.equal(ids[0], 1);
  assert.equal(ids.at(-1), 2);
  assert.equal(ids.filter((id) => id <= 2).length, 2);
  assert.equal(ours.decode(ids, { skipSpecialTokens: true }), '### User:\nHi\n\n### Assistant:\nHello.');
});

test('numbers are encoded one digit per token, also right after a space', () => {
  const ours = new BpeTokenizer(smallModel().bpe);
  const ids = ours.encode('Answer: -4071', { addBosToken: false });
  const tokens = ids.map((id) => ours.model.vocab[id]);
  assert.deepEqual(tokens.slice(-4), ['4', '0', '7', '1']);
});

test('the committed examples/tiny-llama/tokenizer.json loads in @huggingface/tokenizers and matches our encoder', () => {
  const json = JSON.parse(readFileSync(join(repoRoot, 'examples', 'tiny-llama', 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(readFileSync(join(repoRoot, 'examples', 'tiny-llama', 'tokenizer_config.json'), 'utf8'));
  assert.equal(json.version, '1.0');
  assert.deepEqual(json.pre_tokenizer, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  assert.equal(json.model.type, 'BPE');
  assert.equal(json.model.byte_fallback, false);
  const bpe = bpeFromTokenizerJson(json);
  for (const symbol of BYTE_TO_UNICODE) assert.ok(symbol in json.model.vocab, `byte symbol ${symbol}`);
  const theirs = new Tokenizer(json, config);
  const ours = new BpeTokenizer(bpe);
  const samples = [
    ...UNICODE_SAMPLES,
    ...generateCorpus({ twoDigitCount: 50, fourDigitCount: 50, statementDocs: 50, alpacaDocs: 20, chatDocs: 20 }).documents.map(
      (d) => d.text,
    ),
  ];
  for (const text of samples) {
    assert.deepEqual(theirs.encode(text).ids, ours.encode(text), `encode ${JSON.stringify(text)}`);
    const withEos = ours.encode(text).concat(2);
    assert.equal(theirs.decode(withEos, { skip_special_tokens: true }), ours.decode(withEos, { skipSpecialTokens: true }));
    if (!/<s>|<\/s>|<pad>/.test(text)) assert.equal(ours.decode(withEos, { skipSpecialTokens: true }), text);
  }
  assert.equal(theirs.encode('Hello').ids[0], theirs.token_to_id('<s>'));
});

test('packCorpus frames every document as <s> ... </s> and decodes back to the documents', () => {
  const { bpe } = smallModel();
  const tokenizer = new BpeTokenizer(bpe);
  const documents = generateCorpus({ twoDigitCount: 20, fourDigitCount: 5, statementDocs: 10, alpacaDocs: 5, chatDocs: 5 }).documents;
  const stream = Array.from(packCorpus(documents, tokenizer));
  assert.equal(stream.filter((id) => id === 1).length, documents.length);
  assert.equal(stream[0], 1);
  assert.equal(stream.at(-1), 2);
  const decoded = tokenizer.decode(stream);
  assert.equal(decoded, documents.map((d) => `<s>${d.text}</s>`).join(''));
});
