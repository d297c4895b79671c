// The code lens on a config's `data:` key: opens the dataset panel of that config; none without a data section.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeConfig, codeLenses } from '../../../language-server/src/service';
import { INSPECT_DATASET_COMMAND } from '../../../language-server/src/service/lens';

test('an "Inspect dataset" lens sits on the data: key and passes the config\'s file URI', () => {
  const text = 'model:\n  checkpoint: ckpt\n\n# the data\ndata:\n  path: d.json\n';
  const lenses = codeLenses(analyzeConfig(text, '/ws/my run.lora.yaml'));
  const data = lenses.filter((lens) => lens.command?.command === INSPECT_DATASET_COMMAND);
  assert.equal(data.length, 1);
  assert.deepEqual(data[0].range.start, { line: 4, character: 0 });
  assert.deepEqual(data[0].command?.arguments, ['file:///ws/my%20run.lora.yaml']);
  assert.match(data[0].command?.title ?? '', /^Inspect dataset/);
  assert.equal(INSPECT_DATASET_COMMAND, 'loraLab.inspectDataset');
  const without = codeLenses(analyzeConfig('model:\n  checkpoint: ckpt\n', '/ws/a.lora.yaml'));
  assert.equal(without.filter((lens) => lens.command?.command === INSPECT_DATASET_COMMAND).length, 0);
});
