// The runs store over real folders (state, ETA, new lines once, crashed from a dead pid), the
// coalescer (<= 10 refreshes a second), the status bar text and the end-of-run notifications.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { RunsStore } from '../../../extension/src/runs-store';
import { endOfRunMessage } from '../../../extension/src/run-notifications';
import { statusBarText } from '../../../extension/src/status-bar';
import { Coalescer } from '../../../extension/src/throttle';
import { waitUntil } from '../../../extension/src/run-manager';
import { runJson } from './run-fixtures';

const train = (step: number) =>
  JSON.stringify({
    kind: 'train',
    step,
    epoch: 0,
    loss: 3 - step / 10,
    lr: 1e-4,
    grad_norm: 1,
    tokens: step * 100,
    tokens_per_s: 50,
    peak_bytes: 1000 * step,
    elapsed_s: step * 2,
  });

test('RunsStore: views, ETA, incremental lines, crashed from a dead pid', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-store-'));
  const dir = path.join(root, 'r1');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(runJson({ step: 4, totalSteps: 10 })));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), [1, 2, 3, 4].map(train).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'lora:\n  r: 4\n');
  let alive: 'alive' | 'dead' = 'alive';
  const store = new RunsStore(() => alive);
  const seen: number[] = [];
  store.onLines.on((_dir, _reset, lines) => seen.push(...lines.map((l) => l.step)));
  const [view] = store.refresh([root]);
  assert.equal(view.state, 'running');
  assert.equal(view.lastTrainLoss, 2.6);
  assert.equal(view.lastPeakBytes, 4000);
  assert.equal(view.etaS, 12, '6 steps left at 2 s a step');
  assert.equal(view.config?.r, 4);
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), `${train(5)}\n`);
  store.refresh([root]);
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  alive = 'dead';
  assert.equal(store.refresh([root])[0].state, 'crashed');
  assert.equal(store.view(dir)?.state, 'crashed');
  fs.rmSync(dir, { recursive: true });
  assert.equal(store.refresh([root]).length, 0);
});

test('Coalescer: a burst of 300 requests over ~300 ms gives a few calls, and one after the last', async () => {
  let calls = 0;
  const coalescer = new Coalescer(() => calls++, 100, 20);
  const start = Date.now();
  while (Date.now() - start < 300) {
    coalescer.request();
    await new Promise((r) => setTimeout(r, 1));
  }
  const elapsed = Date.now() - start;
  assert.ok(await waitUntil(() => calls >= 1, 1000));
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(calls >= 2 && calls <= Math.ceil(elapsed / 100) + 2, `${calls} calls in ${elapsed} ms`);
  coalescer.dispose();
});

test('statusBarText: hidden when idle; newest active run with step and loss; queue count', () => {
  assert.equal(statusBarText([], 0), undefined);
  assert.deepEqual(statusBarText([], 2), { text: '$(clock) LoRA: 2 queued' });
  assert.deepEqual(statusBarText([{ label: 'a', name: 'demo', runDir: '/o/d', step: 3, totalSteps: 10, loss: 2.5 }], 1), {
    text: '$(sync~spin) demo 3/10 loss 2.500 (+1)',
    runDir: '/o/d',
  });
});

test('endOfRunMessage: completed with the final loss, failed with message and hint, nothing else', () => {
  const summary = {
    trainTimeS: 1,
    tokens: 1,
    tokensPerS: 1,
    peakBytes: 1,
    peakBytesByCategory: {},
    trainableParams: 1,
    totalParams: 1,
    finalTrainLoss: 1.23456,
    finalValLoss: null,
  };
  assert.deepEqual(endOfRunMessage({ label: 'x', name: 'demo' }, { type: 'done', runDir: '/r', summary }), {
    level: 'info',
    text: 'LoRA Lab: demo completed (loss 1.235).',
  });
  assert.deepEqual(
    endOfRunMessage(
      { label: 'x' },
      { type: 'failed', runDir: '/r', error: { code: 'E_OOM', message: 'out of memory.', hint: 'Lower micro_batch_size.' } },
    ),
    { level: 'error', text: 'LoRA Lab: x failed: out of memory. Lower micro_batch_size.' },
  );
  assert.equal(endOfRunMessage({ label: 'x' }, { type: 'stopped', runDir: '/r', step: 3 }), undefined);
});
