// model.checkpoint as a Hugging Face Hub repo id: the shapes that count as one, the cache folder's
// environment precedence, resolution to the cached snapshot (refs/<rev> -> snapshots/<commit>), a
// cache repo folder path, a local folder winning over a repo id, the warnings and their quick fixes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hubCheckpointOfPath, parseConfig, parseHubRef } from '../../../language-server/src/config';
import { hubCacheDir } from '../../../language-server/src/config/node-fs';
import { analyzeConfig, codeActions } from '../../../language-server/src/service';
import { memoryFileSystem } from './memory-fs';

const COMMIT = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);
const llama = JSON.stringify({
  architectures: ['LlamaForCausalLM'],
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  vocab_size: 256,
});
const repoFolder = '/cache/models--acme--tiny';
const snapshot = `${repoFolder}/snapshots/${COMMIT}`;
const cached: Record<string, string> = {
  [`${repoFolder}/refs/main`]: COMMIT,
  [`${repoFolder}/refs/v1`]: `${OTHER}\n`,
  [`${snapshot}/config.json`]: llama,
  [`${snapshot}/tokenizer.json`]: '{}',
  [`${snapshot}/model.safetensors`]: 'x',
  [`${repoFolder}/snapshots/${OTHER}/config.json`]: llama,
  '/p/data/alpaca.json': '[]',
};
const file = '/p/run.lora.yaml';
const ofCheckpoint = (parsed: ReturnType<typeof parseConfig>) => parsed.problems.filter((p) => p.key === 'model.checkpoint');
const parse = (checkpoint: string, files: Record<string, string> = cached) =>
  parseConfig(`model:\n  checkpoint: ${checkpoint}\n`, file, memoryFileSystem(files), { hubCache: '/cache' });

test('repo id shapes: org/name[@rev]; paths and odd names are not repo ids', () => {
  assert.deepEqual(parseHubRef('meta-llama/Llama-2-7b-hf'), { repo: 'meta-llama/Llama-2-7b-hf', revision: 'main' });
  assert.deepEqual(parseHubRef('Qwen/Qwen2.5-0.5B@refs/pr/1'), { repo: 'Qwen/Qwen2.5-0.5B', revision: 'refs/pr/1' });
  for (const value of ['tiny-llama', './a/b', '../a/b', '/a/b', 'a/b/c', 'a/..', 'a/b@', 'a/b@../x', 'C:\\a\\b'])
    assert.equal(parseHubRef(value), null, value);
});

test('the cache folder: HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/h', HF_HOME: '/x', XDG_CACHE_HOME: '/y' }, '/home/u'), '/h');
  assert.equal(hubCacheDir({ HF_HOME: '/x', XDG_CACHE_HOME: '/y' }, '/home/u'), '/x/hub');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/y' }, '/home/u'), '/y/huggingface/hub');
  assert.equal(hubCacheDir({}, '/home/u'), '/home/u/.cache/huggingface/hub');
});

test('a cached repo id resolves to its snapshot: refs/main, a branch or tag, a commit', () => {
  const main = parse('acme/tiny');
  assert.equal(main.config.model.checkpoint, snapshot);
  assert.deepEqual(
    ofCheckpoint(main).map((p) => p.code),
    [],
  );
  assert.equal(parse('acme/tiny@v1').config.model.checkpoint, `${repoFolder}/snapshots/${OTHER}`);
  assert.equal(parse(`acme/tiny@${OTHER}`).config.model.checkpoint, `${repoFolder}/snapshots/${OTHER}`);
  assert.deepEqual(hubCheckpointOfPath(snapshot), { repo: 'acme/tiny', commit: COMMIT });
  // a sweep's variants get the snapshot too
  const sweep = parseConfig(
    `model:\n  checkpoint: acme/tiny\nsweep:\n  lora.r: [4, 8]\n  lora.alpha: ["=2*lora.r"]\n`,
    file,
    memoryFileSystem(cached),
    { hubCache: '/cache' },
  );
  assert.deepEqual(
    sweep.variants.map((v) => v.config.model.checkpoint),
    [snapshot, snapshot],
  );
});

test('a cache repo folder path (models--org--name) resolves the same way; a local folder wins over a repo id', () => {
  assert.equal(parse(repoFolder).config.model.checkpoint, snapshot);
  const local = {
    ...cached,
    '/p/acme/tiny/config.json': llama,
    '/p/acme/tiny/tokenizer.json': '{}',
    '/p/acme/tiny/model.safetensors': 'x',
  };
  assert.equal(parse('acme/tiny', local).config.model.checkpoint, '/p/acme/tiny');
});

test('not cached: an error (nothing to estimate yet) with "Fetch config.json" and "Download model" quick fixes', () => {
  const parsed = parse('acme/other@v2');
  assert.deepEqual(
    ofCheckpoint(parsed).map((p) => [p.code, p.severity, p.data]),
    [['checkpoint-not-downloaded', 'error', { repo: 'acme/other', revision: 'v2' }]],
  );
  assert.match(
    ofCheckpoint(parsed)[0].message,
    /acme\/other@v2: no such folder \(\/p\/acme\/other@v2\), and the Hugging Face Hub model acme\/other@v2 is not in the cache \(\/cache\/models--acme--other\) yet: .*lora-lab download acme\/other@v2 --include config\.json/,
  );
  const text = 'model:\n  checkpoint: acme/other@v2\n';
  const analysis = analyzeConfig(text, file, memoryFileSystem(cached), { hubCache: '/cache' });
  const actions = codeActions(analysis, 'file:///p/run.lora.yaml', {
    start: { line: 1, character: 14 },
    end: { line: 1, character: 14 },
  }).filter((a) => a.command);
  assert.deepEqual(
    actions.map((a) => [a.title, a.command?.command, a.command?.arguments, a.edit]),
    [
      [
        'Fetch config.json of acme/other@v2 (for the estimate; trusted workspaces only)',
        'loraLab.downloadModel',
        [{ repo: 'acme/other', revision: 'v2', include: ['config.json'] }],
        undefined,
      ],
      ['Download model acme/other@v2', 'loraLab.downloadModel', [{ repo: 'acme/other', revision: 'v2' }], undefined],
    ],
  );
});

test('config.json alone in the cache: the weights are a warning with "Download model"', () => {
  const onlyConfig = { [`${repoFolder}/refs/main`]: COMMIT, [`${snapshot}/config.json`]: llama, '/p/data/alpaca.json': '[]' };
  const parsed = parse('acme/tiny', onlyConfig);
  assert.equal(parsed.config.model.checkpoint, snapshot);
  assert.deepEqual(
    ofCheckpoint(parsed).map((p) => [p.code, p.severity, p.data]),
    [['checkpoint-weights-missing', 'warning', { missing: ['*.safetensors', 'tokenizer.json'], repo: 'acme/tiny', revision: 'main' }]],
  );
  const analysis = analyzeConfig('model:\n  checkpoint: acme/tiny\n', file, memoryFileSystem(onlyConfig), { hubCache: '/cache' });
  const actions = codeActions(analysis, 'file:///p/run.lora.yaml', {
    start: { line: 1, character: 14 },
    end: { line: 1, character: 14 },
  }).filter((a) => a.command);
  assert.deepEqual(
    actions.map((a) => [a.title, a.command?.arguments]),
    [['Download model acme/tiny', [{ repo: 'acme/tiny', revision: 'main' }]]],
  );
});
