// The joint tokenization rule of EVAL.md with a SentencePiece-style tokenizer (Llama 2) and a
// byte-level BPE (Llama 3): trailing-space move, joint encoding, prefix token for an empty
// context per profile, BOS rules with the override, and left truncation to the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { moveTrailingSpace, tokenizeRequest, type EvalTokenizer } from '../../../language-server/src/eval';
import { llama2Tokenizer, llama3Tokenizer } from '../data/tokenizers';

const big = 4096;

test('trailing whitespace of the context moves to the front of the continuation', () => {
  assert.deepEqual(moveTrailingSpace({ context: 'Answer: \n', continuation: '21' }), { context: 'Answer:', continuation: ' \n21' });
  assert.deepEqual(moveTrailingSpace({ context: 'Answer:', continuation: ' 21' }), { context: 'Answer:', continuation: ' 21' });
});

test('llama2 (SentencePiece): the continuation is the joint encoding after the context, not " 21" encoded alone', () => {
  const tok = llama2Tokenizer();
  const context = 'Question: What is 59 minus 38?\nAnswer:';
  const r = tokenizeRequest({ context, continuation: ' 21' }, tok, { profile: 'lm-eval', maxLength: big });
  const whole = tok.encode(context + ' 21', { bos: true });
  assert.equal(r.context[0], tok.bosId, 'lm-eval: the tokenizer default (add_bos_token) puts BOS first');
  assert.deepEqual([...r.context, ...r.continuation], whole);
  assert.deepEqual(r.continuation, whole.slice(tok.encode(context, { bos: true }).length));
  assert.notDeepEqual(r.continuation, tok.encode(' 21', { bos: false }), 'alone, SentencePiece merges the leading space differently');
  assert.equal(r.truncated, 0);
  // a context ending in a space gives the same ids as the moved form
  const moved = tokenizeRequest({ context: context + ' ', continuation: '21' }, tok, { profile: 'lm-eval', maxLength: big });
  assert.deepEqual(moved, r);
});

test('llama3 (byte-level BPE): joint encoding; BOS only where the profile or the override says', () => {
  const tok = llama3Tokenizer();
  const context = 'Question: What is 59 minus 38?\nAnswer:';
  const plain = tokenizeRequest({ context, continuation: ' 21' }, tok, { profile: 'lm-eval', maxLength: big });
  assert.equal(tok.addBos, false);
  assert.deepEqual([...plain.context, ...plain.continuation], tok.encode(context + ' 21', { bos: false }));
  const forced = tokenizeRequest({ context, continuation: ' 21' }, tok, { profile: 'lm-eval', bos: true, maxLength: big });
  assert.deepEqual(forced.context, [tok.bosId!, ...plain.context]);
  assert.deepEqual(forced.continuation, plain.continuation);
});

test('article profile: never BOS before a context (unless overridden)', () => {
  const tok = llama2Tokenizer();
  const r = tokenizeRequest({ context: 'Q: Hi\nA:', continuation: ' Yes.' }, tok, { profile: 'article', maxLength: big });
  assert.notEqual(r.context[0], tok.bosId);
  assert.deepEqual([...r.context, ...r.continuation], tok.encode('Q: Hi\nA: Yes.', { bos: false }));
  const over = tokenizeRequest({ context: 'Q: Hi\nA:', continuation: ' Yes.' }, tok, { profile: 'article', bos: true, maxLength: big });
  assert.equal(over.context[0], tok.bosId);
});

test('empty context: one prefix token, BOS under lm-eval, EOS under the article profile', () => {
  for (const tok of [llama2Tokenizer(), llama3Tokenizer()]) {
    const sentence = ' Aaron breaks the glass.';
    const lm = tokenizeRequest({ context: '', continuation: sentence }, tok, { profile: 'lm-eval', maxLength: big });
    assert.deepEqual(lm, { context: [tok.bosId!], continuation: tok.encode(sentence, { bos: false }), truncated: 0 });
    const article = tokenizeRequest({ context: '', continuation: sentence.trimStart() }, tok, { profile: 'article', maxLength: big });
    assert.deepEqual(article.context, [tok.eosId]);
    assert.deepEqual(article.continuation, tok.encode('Aaron breaks the glass.', { bos: false }));
  }
  const noBos: EvalTokenizer = { bosId: null, eosId: 0, addBos: false, encode: (t) => [...t].map((c) => c.charCodeAt(0)) };
  assert.deepEqual(tokenizeRequest({ context: '', continuation: 'ab' }, noBos, { profile: 'lm-eval', maxLength: big }).context, [0]);
});

test('left truncation keeps the last maxLength + 1 tokens of context + continuation and records the drop', () => {
  const chars: EvalTokenizer = {
    bosId: 1,
    eosId: 2,
    addBos: false,
    encode: (t, o) => [...(o.bos ? [1] : []), ...[...t].map((c) => c.charCodeAt(0))],
  };
  const r = tokenizeRequest({ context: 'abcdefgh', continuation: 'XY' }, chars, { profile: 'lm-eval', maxLength: 5 });
  // 10 tokens; the last 6 stay: efgh | XY; the engine feeds efghX and scores X, Y
  assert.deepEqual(r, { context: [...'efgh'].map((c) => c.charCodeAt(0)), continuation: [88, 89], truncated: 4 });
  assert.equal(tokenizeRequest({ context: 'abc', continuation: 'XY' }, chars, { profile: 'lm-eval', maxLength: 5 }).truncated, 0);
  assert.throws(
    () => tokenizeRequest({ context: 'a', continuation: 'XYZUVWQ' }, chars, { profile: 'lm-eval', maxLength: 5 }),
    /has 7 tokens, more than the model's window of 5/,
  );
});
