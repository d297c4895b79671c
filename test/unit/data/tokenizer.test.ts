// The checkpoint tokenizer on the real Llama 2 (SentencePiece-style BPE with byte fallback) and
// Llama 3 (128k byte-level BPE) tokenizers: specials, round trips, chat templates, stream decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { StreamDecoder } from '../../../native/trainer/data/stream-decoder';
import { llama2Dir, llama2Tokenizer, llama3Tokenizer } from './tokenizers';

const samples = [
  'Hello world!',
  'Zürich, naïve café',
  '你好，世界',
  'emoji 🤗🍂 and 👩‍👩‍👧',
  'tabs\tand\n\nnewlines\r\n',
  '  two leading spaces',
  'x = [1, 2, 3]  # code',
  '',
];

test('special tokens come from tokenizer_config.json and tokenizer.json', () => {
  const l2 = llama2Tokenizer();
  assert.equal(l2.bosToken, '<s>');
  assert.equal(l2.bosId, l2.tokenToId('<s>'));
  assert.equal(l2.eosId, l2.tokenToId('</s>'));
  assert.equal(l2.addBos, true, 'add_bos_token: true');
  assert.equal(l2.padId, l2.eosId, 'no pad_token: pads with EOS');
  assert.equal(l2.vocabSize, 32000);
  const l3 = llama3Tokenizer();
  assert.equal(l3.bosId, l3.tokenToId('<|begin_of_text|>'));
  assert.equal(l3.eosId, l3.tokenToId('<|end_of_text|>'));
  assert.equal(l3.addBos, false, 'no add_bos_token and a post-processor without a template: no BOS, as transformers does');
  assert.equal(l3.vocabSize, 128256);
});

test('add_bos_token in the config wins over the post-processor', () => {
  const json = readFileSync(join(llama2Dir, 'tokenizer.json'), 'utf8');
  const config = JSON.parse(readFileSync(join(llama2Dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const off = new TextTokenizer(json, JSON.stringify({ ...config, add_bos_token: false }));
  assert.equal(off.encode('Hi')[0] === off.bosId, false);
  const { add_bos_token: _drop, ...rest } = config;
  const fromProcessor = new TextTokenizer(json, JSON.stringify(rest));
  assert.equal(fromProcessor.addBos, true, 'TemplateProcessing puts <s> first');
  assert.notEqual(off.fingerprint, fromProcessor.fingerprint);
  assert.throws(
    () => new TextTokenizer(json, JSON.stringify({ ...config, eos_token: '<nope>' })),
    /eos_token '<nope>' is not in the vocabulary/,
  );
  const { eos_token: _eos, bos_token: _bos, ...bare } = rest;
  assert.throws(() => new TextTokenizer(json, JSON.stringify(bare)), /names an end-of-sequence token/);
  const fromModel = new TextTokenizer(json, JSON.stringify(bare), [], { modelTokenIds: { bos: 1, eos: 2 } });
  assert.deepEqual([fromModel.bosToken, fromModel.eosToken, fromModel.addBos], ['<s>', '</s>', true]);
});

test('encode/decode round trips on both tokenizers', () => {
  for (const tokenizer of [llama2Tokenizer(), llama3Tokenizer()]) {
    for (const text of samples) {
      const ids = tokenizer.encode(text, { bos: false });
      assert.equal(tokenizer.decode(ids), text, JSON.stringify(text));
      const withBos = tokenizer.encode(text, { bos: true });
      assert.deepEqual(withBos, [tokenizer.bosId, ...ids]);
      assert.equal(tokenizer.decode(withBos, { skipSpecialTokens: true }), text);
    }
  }
  const l2 = llama2Tokenizer();
  assert.deepEqual(
    l2
      .encode('🤗', { bos: false })
      .slice(-4)
      .map((id) => l2.idToToken(id)),
    ['<0xF0>', '<0x9F>', '<0xA4>', '<0x97>'],
    'byte fallback',
  );
});

test('special-token text inside a text becomes the special id (a chat template relies on it)', () => {
  const l3 = llama3Tokenizer();
  const ids = l3.encode('<|start_header_id|>user<|end_header_id|>', { bos: false });
  assert.equal(ids[0], l3.tokenToId('<|start_header_id|>'));
  assert.equal(ids[ids.length - 1], l3.tokenToId('<|end_header_id|>'));
  assert.equal(ids.length, 3);
});

test('chat templates: Llama 3 emits BOS itself; no template is a clear error', () => {
  const l3 = llama3Tokenizer();
  const text = l3.renderChat([{ role: 'user', content: '  Hi there ' }], true);
  assert.equal(
    text,
    '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
  const ids = l3.encode(text, { bos: false });
  assert.equal(ids.filter((id) => id === l3.bosId).length, 1);
  assert.equal(ids[0], l3.bosId);
  assert.throws(
    () => llama2Tokenizer().renderChat([{ role: 'user', content: 'x' }], true),
    /no chat_template: use prompt_style alpaca or plain/,
  );
});

test('a Llama 2 chat template with bos_token renders [INST] turns', () => {
  const json = readFileSync(join(llama2Dir, 'tokenizer.json'), 'utf8');
  const config = JSON.parse(readFileSync(join(llama2Dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const template =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'].strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'].strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
  const tokenizer = new TextTokenizer(json, JSON.stringify({ ...config, chat_template: template }));
  const text = tokenizer.renderChat(
    [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
    ],
    true,
  );
  assert.equal(text, '<s>[INST] Hi [/INST] Hello! </s><s>[INST] Bye [/INST]');
  const ids = tokenizer.encode(text, { bos: false });
  assert.equal(ids[0], tokenizer.bosId);
  assert.equal(ids[1] === tokenizer.bosId, false, 'no double BOS');
  assert.equal(ids.filter((id) => id === tokenizer.eosId).length, 1);
  const strict = new TextTokenizer(
    json,
    JSON.stringify({
      ...config,
      chat_template:
        "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start with user') }}{% endif %}{{ bos_token + messages[0]['content'] }}",
    }),
  );
  assert.equal(strict.renderChat([{ role: 'user', content: 'x' }], false), '<s>x');
  assert.throws(
    () => strict.renderChat([{ role: 'assistant', content: 'x' }], false),
    /refused the conversation: Conversation must start with user/,
  );
});

test('the stream decoder never emits half a UTF-8 character and reproduces the full decode', () => {
  for (const tokenizer of [llama2Tokenizer(), llama3Tokenizer()]) {
    for (const text of ['Grüße 🤗🍂 aus 你好 Zürich', 'plain ascii words here', '👩‍👩‍👧 family']) {
      const ids = tokenizer.encode(text, { bos: false });
      const decoder = new StreamDecoder(tokenizer);
      const pieces = ids.map((id) => decoder.push(id));
      pieces.push(decoder.flush());
      assert.equal(pieces.join(''), text);
      for (const piece of pieces) assert.ok(!piece.includes('\uFFFD'), `no replacement character in ${JSON.stringify(piece)}`);
      if (text.includes('🤗') && tokenizer === llama2Tokenizer()) assert.ok(pieces.includes(''), 'byte tokens are held back');
    }
  }
});

test('the stream decoder keeps the leading space of the first generated word after a prompt', () => {
  const l2 = llama2Tokenizer();
  const prompt = l2.encode('The answer is', { bos: true });
  const generated = l2.encode('The answer is forty two', { bos: true }).slice(prompt.length);
  const decoder = new StreamDecoder(l2, { skipSpecialTokens: true }, prompt);
  const text = generated.map((id) => decoder.push(id)).join('') + decoder.flush();
  assert.equal(text, ' forty two');
});
