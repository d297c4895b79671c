// The trainer batches its steps with the one step arithmetic (config/units.ts): its steps per epoch,
// batch sizes and total steps are stepPlan's and totalOptimizerSteps', the numbers hovers and estimates quote.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { loadConfigFile } from '../../../language-server/src/config/node-fs';
import { stepPlan, totalOptimizerSteps } from '../../../language-server/src/config/units';
import { prepareTrainingData } from '../../../native/trainer/run/training-data';

const dir = mkdtempSync(join(tmpdir(), 'loralab-training-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('training data: steps per epoch, batches and total steps from config/units', () => {
  const example = resolve(__dirname, '../../../examples/lora-default.lora.yaml');
  assert.match(readFileSync(example, 'utf8'), /max_steps: 300/);
  const config = loadConfigFile(example).config;
  for (const train of [
    { ...config.train, max_steps: null, epochs: 2 },
    { ...config.train, micro_batch_size: 8, global_batch_size: 64, max_steps: null, epochs: 1 },
    config.train,
  ]) {
    const data = prepareTrainingData({ ...config, train }, join(dir, 'cache'));
    const plan = stepPlan(data.train.length, train);
    assert.deepEqual([data.microBatch, data.globalBatch, data.stepsPerEpoch], [plan.microBatch, plan.globalBatch, plan.stepsPerEpoch]);
    assert.equal(data.totalSteps, totalOptimizerSteps(data.train.length, train));
    assert.equal(prepareTrainingData({ ...config, train }, join(dir, 'cache'), 7).totalSteps, 7);
  }
});
