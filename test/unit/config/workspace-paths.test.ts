// Paths outside the workspace: '../' and absolute paths in model.checkpoint, data.path, eval.data_dir
// and out_dir are warnings (information for reads from a model cache folder), placed on the value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../language-server/src/config/parse';
import { isInsideFolder, pathsOutsideWorkspace, type WorkspaceContext } from '../../../language-server/src/config/workspace-paths';
import { modelCacheFolders } from '../../../language-server/src/config/node-fs';

const file = '/ws/configs/run.lora.yaml';
const workspace: WorkspaceContext = { folders: ['/ws'], cacheFolders: ['/home/u/.cache', '/data/hf'] };
const outside = (text: string, context = workspace, path = file) =>
  parseConfig(text, path, undefined, { workspace: context })
    .problems.filter((problem) => problem.code === 'path-outside-workspace' || problem.code === 'path-in-model-cache')
    .map((problem) => [problem.severity, problem.key, problem.range.start.line, problem.range.start.character]);

test('paths inside the workspace (also ../ that stays inside) are not reported; without a context nothing is', () => {
  assert.deepEqual(outside('model:\n  checkpoint: ../models/ck\ndata:\n  path: data/a.json\nout_dir: ../out\n'), []);
  assert.deepEqual(parseConfig('out_dir: /tmp/x\n', file).problems, []);
});

test('../ and absolute paths outside the workspace are warnings on the value; model caches are information', () => {
  const text =
    'model:\n  checkpoint: /home/u/.cache/huggingface/hub/models--x/snapshots/1\ndata:\n  path: ../../etc/passwd\neval:\n  data_dir: /data/hf/eval\nout_dir: /tmp/runs\n';
  assert.deepEqual(outside(text), [
    ['information', 'model.checkpoint', 1, 14],
    ['warning', 'data.path', 3, 8],
    ['information', 'eval.data_dir', 5, 12],
    ['warning', 'out_dir', 6, 9],
  ]);
  const problems = parseConfig(text, file, undefined, { workspace }).problems;
  assert.match(
    problems.find((problem) => problem.key === 'data.path')!.message,
    /^data\.path \/etc\/passwd is outside the workspace \(\/ws\): it is read from there/,
  );
  assert.match(
    problems.find((problem) => problem.key === 'out_dir')!.message,
    /^out_dir \/tmp\/runs is outside the workspace \(\/ws\): runs will be written there.*Start LoRA Run asks/,
  );
  assert.deepEqual(
    outside('out_dir: /home/u/.cache/runs\n'),
    [['warning', 'out_dir', 0, 9]],
    'writing into a cache folder is still a warning',
  );
});

test('a config outside every workspace folder is judged against its own folder; sweep values are checked', () => {
  assert.deepEqual(outside('data:\n  path: d.json\n', workspace, '/elsewhere/run.lora.yaml'), []);
  assert.deepEqual(outside('data:\n  path: ../d.json\n', workspace, '/elsewhere/run.lora.yaml'), [['warning', 'data.path', 1, 8]]);
  assert.deepEqual(outside('sweep:\n  data.path: [a.json, /srv/b.json]\n'), [['warning', 'data.path', 1, 13]]);
  assert.deepEqual(
    outside('model:\n  checkpoint: /srv/ck\n', { folders: ['/ws', '/srv'], cacheFolders: [] }),
    [],
    'another folder of a multi-root workspace is inside',
  );
});

test('folder containment resolves .. and does not match a sibling with a common prefix', () => {
  assert.equal(isInsideFolder('/ws/a/../b', '/ws'), true);
  assert.equal(isInsideFolder('/ws/../x', '/ws'), false);
  assert.equal(isInsideFolder('/ws-other/x', '/ws'), false);
  assert.equal(isInsideFolder('/ws', '/ws/'), true);
  const { config } = parseConfig('out_dir: /tmp/o\n', file);
  assert.deepEqual(pathsOutsideWorkspace([config], workspace), [{ key: 'out_dir', path: '/tmp/o', inCache: false }]);
});

test('model cache folders: the Hugging Face variables and ~/.cache', () => {
  assert.deepEqual(modelCacheFolders({ HF_HOME: '/hf', HF_HUB_CACHE: '/hub' }, '/home/u'), ['/hub', '/hf', '/home/u/.cache']);
  assert.deepEqual(modelCacheFolders({}, '/home/u'), ['/home/u/.cache']);
});
