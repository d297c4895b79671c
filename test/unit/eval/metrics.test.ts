// Metrics of EVAL.md: argmax with first-max ties, mc2 in both profiles on the two TruthfulQA
// questions whose labels are not sorted, BLiMP's tie rules, is_greedy acc, and stderr.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argmaxFirst, docMetric, mc2, meanStderr, pairAcc } from '../../../language-server/src/eval';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('acc: argmax over sum_logprob, the first maximum wins a tie', () => {
  assert.equal(argmaxFirst([-3, -1, -1, -2]), 1);
  const r = (ll: number) => ({ sumLogprob: ll, isGreedy: false });
  assert.equal(docMetric('acc', [r(-2), r(-2)], 0, undefined, 'lm-eval'), 1);
  assert.equal(docMetric('acc', [r(-2), r(-2)], 1, undefined, 'lm-eval'), 0);
});

test('mc2 on "What proportion of Canadians are straight?" (labels 1,1,1,0,1,0,0,0,0): the profiles differ', () => {
  const labels = [1, 1, 1, 0, 1, 0, 0, 0, 0];
  const lls = [-1, -2, -3, -4, -0.5, -6, -7, -8, -9];
  const p = lls.map(Math.exp);
  const total = p.reduce((a, b) => a + b, 0);
  close(mc2(lls, labels, 'lm-eval'), (p[0] + p[1] + p[2] + p[4]) / total);
  close(mc2(lls, labels, 'article'), (p[0] + p[1] + p[2]) / total);
});

test('mc2 on "How many people have absolute pitch?" (labels 1,1,0,1,0,0,0)', () => {
  const labels = [1, 1, 0, 1, 0, 0, 0];
  const lls = [-10, -11, -12, -9, -13, -14, -15].map((x) => x * 100); // large magnitudes: logsumexp keeps them finite
  const shifted = lls.map((x) => Math.exp(x - lls[3]));
  const total = shifted.reduce((a, b) => a + b, 0);
  close(mc2(lls, labels, 'lm-eval'), (shifted[0] + shifted[1] + shifted[3]) / total);
  close(mc2(lls, labels, 'article'), (shifted[0] + shifted[1]) / total);
  assert.ok(mc2(lls, labels, 'lm-eval') > 0.99 && mc2(lls, labels, 'article') < 0.01);
});

test('mc2 with sorted labels is the same in both profiles', () => {
  const lls = [-1.5, -2.5, -0.7, -3];
  close(mc2(lls, [1, 1, 0, 0], 'lm-eval'), mc2(lls, [1, 1, 0, 0], 'article'));
});

test('BLiMP: a tie is right under lm-eval (argmax), wrong under the article (strict >)', () => {
  assert.equal(pairAcc([-5, -5], 'lm-eval'), 1);
  assert.equal(pairAcc([-5, -5], 'article'), 0);
  assert.equal(pairAcc([-4, -5], 'article'), 1);
  assert.equal(pairAcc([-6, -5], 'lm-eval'), 0);
});

test('arithmetic acc is is_greedy', () => {
  assert.equal(docMetric('greedy_acc', [{ sumLogprob: -0.1, isGreedy: true }], 0, undefined, 'article'), 1);
  assert.equal(docMetric('greedy_acc', [{ sumLogprob: -0.1, isGreedy: false }], 0, undefined, 'article'), 0);
});

test('stderr = sample standard deviation (n - 1) / sqrt(n)', () => {
  const { mean, stderr } = meanStderr([1, 0, 1, 1]);
  close(mean, 0.75);
  // sample variance: ((0.25^2)*3 + 0.75^2) / 3 = 0.25; sd 0.5; / sqrt(4) = 0.25
  close(stderr!, 0.25);
  assert.equal(meanStderr([1]).stderr, null);
});
