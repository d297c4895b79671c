// Engine.score through the N-API binding: packed requests in, per-request sum_logprob / is_greedy
// out in request order, equal to the logprobs() path; prefix sharing computes fewer tokens; progress
// arrives before the promise settles; bad packing is a typed error.
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAddon, type NativeEngine, type NativeError } from '../../../native/trainer/addon';
import { packScoreRequests } from '../../../native/trainer/eval/score';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-score-'));
const checkpoint = makeTinyCheckpoint(join(dir, 'tiny'), {
  vocabSize: 64,
  hiddenSize: 16,
  intermediateSize: 32,
  numLayers: 2,
  numHeads: 2,
  numKvHeads: 1,
});
after(() => rmSync(dir, { recursive: true, force: true }));

const preamble = Array.from({ length: 20 }, (_, i) => (i * 13 + 5) % 64);
const requests = [0, 1, 2].flatMap((q) =>
  [0, 1, 2, 3].map((c) => ({
    context: [...preamble, 40 + q, 7],
    continuation: Array.from({ length: 1 + c }, (_, i) => (q * 9 + c * 5 + i) % 64),
    truncated: 0,
  })),
);

async function viaLogprobs(engine: NativeEngine, context: number[], continuation: number[]): Promise<number> {
  const seq = [...context, ...continuation];
  const seqLen = seq.length - 1;
  const targets = new Int32Array(seqLen).fill(-100);
  for (let t = context.length - 1; t < seqLen; t++) targets[t] = seq[t + 1];
  const lp = await engine.logprobs({ rows: 1, seqLen, tokens: Int32Array.from(seq.slice(0, -1)), targets });
  return lp.reduce((a, b) => a + b, 0);
}

test('score equals the logprobs path per request, with and without prefix sharing', async () => {
  const engine = await loadAddon().loadEngine(
    checkpoint,
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true' }), 1, false, undefined, 1),
  );
  try {
    const packed = packScoreRequests(requests);
    const shared = await engine.score(packed, { sharePrefix: true });
    const whole = await engine.score(packed, { sharePrefix: false });
    assert.equal(shared.sumLogprob.length, requests.length);
    for (let i = 0; i < requests.length; i++) {
      const want = await viaLogprobs(engine, requests[i].context, requests[i].continuation);
      assert.ok(Math.abs(shared.sumLogprob[i] - want) <= 1e-5 * Math.abs(want), `${i}: ${shared.sumLogprob[i]} vs ${want}`);
      assert.ok(Math.abs(whole.sumLogprob[i] - want) <= 1e-5 * Math.abs(want));
      assert.equal(shared.isGreedy[i], whole.isGreedy[i]);
    }
    const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
    assert.equal(
      sum(whole.computed),
      requests.reduce((a, r) => a + r.context.length + r.continuation.length - 1, 0),
    );
    assert.ok(sum(shared.computed) < sum(whole.computed) / 3, `${sum(shared.computed)} vs ${sum(whole.computed)}`);
  } finally {
    engine.dispose();
  }
});

test('progress reaches (total, total) before the promise settles; abort rejects with E_ABORTED', async () => {
  const engine = await loadAddon().loadEngine(
    checkpoint,
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true' }), 1, false, undefined, 1),
  );
  try {
    const seen: [number, number][] = [];
    await engine.score(packScoreRequests(requests), {}, (done, total) => seen.push([done, total]));
    assert.deepEqual(seen.at(-1), [requests.length, requests.length]);
    const many = Array.from({ length: 400 }, () => requests).flat();
    let calls = 0;
    const pending = engine.score(packScoreRequests(many), { sharePrefix: false }, () => {
      calls++;
      engine.abort(); // from the first progress report: the call is running
    });
    await assert.rejects(pending, (e: NativeError) => e.code === 'E_ABORTED');
    assert.ok(calls >= 1);
    assert.equal((await engine.score(packScoreRequests(requests.slice(0, 1)), {})).sumLogprob.length, 1, 'usable after abort');
  } finally {
    engine.dispose();
  }
});

test('bad requests: empty context, ids outside the vocabulary, inconsistent packing', async () => {
  const engine = await loadAddon().loadEngine(
    checkpoint,
    engineOptions(configWith({ device: 'cpu', 'model.precision': '32-true' }), 1, false, undefined, 1),
  );
  try {
    await assert.rejects(
      engine.score(packScoreRequests([{ context: [], continuation: [1] }]), {}),
      (e: NativeError) => e.code === 'E_BATCH' && /request 0 has no context/.test(e.message),
    );
    await assert.rejects(
      engine.score(packScoreRequests([{ context: [1], continuation: [64] }]), {}),
      (e: NativeError) => e.code === 'E_BATCH' && /token id 64 is outside the vocabulary/.test(e.message),
    );
    const bad = { tokens: new Int32Array(3), contextLengths: Int32Array.of(1), continuationLengths: Int32Array.of(1) };
    await assert.rejects(
      engine.score(bad, {}),
      (e: NativeError) => e.code === 'E_INVALID_ARGUMENT' && /beyond the requests' lengths/.test(e.message),
    );
  } finally {
    engine.dispose();
  }
});
