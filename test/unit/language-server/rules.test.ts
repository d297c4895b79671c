// Every rule of CONFIG.md through the language service: the diagnostic's code, severity and the
// exact text its range covers, on a clean base config with one planted mistake each.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiagnosticSeverity } from 'vscode-languageserver-types';
import { analyzeConfig, diagnostics } from '../../../language-server/src/service';
import { SMALL_MODEL, workspace } from './memory-workspace';

const BASE = 'model:\n  checkpoint: ckpt\n';
const { Error: E, Warning: W, Hint: H } = DiagnosticSeverity;
const EXTRA_FILES = {
  '/ws/partial/config.json': SMALL_MODEL,
  '/ws/noconfig/tokenizer.json': '{}',
  '/ws/pickle/config.json': SMALL_MODEL,
  '/ws/pickle/tokenizer.json': '{}',
  '/ws/pickle/pytorch_model.bin': '',
  '/ws/bad/config.json': '{"vocab_size": 100}',
  '/ws/bad/tokenizer.json': '{}',
  '/ws/bad/model.safetensors': '',
};

/** [rule, file text, code, severity, the text the range covers] */
const CASES: Array<[string, string, string, DiagnosticSeverity, string]> = [
  ['YAML syntax', `${BASE}lora:\n  r: [8, 16\n  alpha: 16\n`, 'yaml-syntax', E, 'a'],
  ['unknown key', `${BASE}lora:\n  rank: 8\n`, 'unknown-key', E, 'rank'],
  ['unknown top-level key', `${BASE}devise: cpu\n`, 'unknown-key', E, 'devise'],
  ['wrong type', `${BASE}lora:\n  query: yes please\n`, 'wrong-type', E, 'yes please'],
  ['out of range', `${BASE}data:\n  val_split_fraction: 1.5\n`, 'out-of-range', E, '1.5'],
  ['unknown enum value', `${BASE}  precision: fp8\n`, 'unknown-enum-value', E, 'fp8'],
  ['batch divisibility', `${BASE}train:\n  global_batch_size: 10\n  micro_batch_size: 4\n`, 'batch-size-multiple', E, '10'],
  ['checkpoint missing', 'model:\n  checkpoint: nowhere\n', 'checkpoint-missing', E, 'nowhere'],
  ['checkpoint not a folder', 'model:\n  checkpoint: data/alpaca.json\n', 'checkpoint-not-folder', E, 'data/alpaca.json'],
  ['checkpoint without config.json', 'model:\n  checkpoint: noconfig\n', 'checkpoint-incomplete', E, 'noconfig'],
  [
    'checkpoint with config.json only (estimate yes, train no)',
    'model:\n  checkpoint: partial\n',
    'checkpoint-weights-missing',
    W,
    'partial',
  ],
  ['pickle-only checkpoint', 'model:\n  checkpoint: pickle\n', 'checkpoint-pickle-only', E, 'pickle'],
  ['unreadable model config', 'model:\n  checkpoint: bad\n', 'checkpoint-config-unreadable', E, 'bad'],
  ['data path missing', `${BASE}data:\n  path: nope.json\n`, 'data-path-missing', E, 'nope.json'],
  ['quantize on cpu', `${BASE}  quantize: bnb.fp4\ndevice: cpu\n`, 'quantize-on-cpu', W, 'bnb.fp4'],
  ['alpha not 2r', `${BASE}lora:\n  r: 8\n  alpha: 8\n`, 'alpha-not-2r', H, '8'],
  ['rank over the smallest adapted dimension', `${BASE}lora:\n  r: 65\n  alpha: 130\n`, 'rank-exceeds-dimension', E, '65'],
  ['no LoRA target', `${BASE}lora:\n  query: false\n  value: false\n`, 'no-lora-target', E, 'lora'],
  ['more than one epoch', `${BASE}train:\n  epochs: 3\n`, 'epochs-over-one', H, '3'],
  ['quantize with full', `${BASE}  quantize: bnb.nf4\ntrain:\n  method: full\n`, 'quantize-with-full', E, 'bnb.nf4'],
  ['fp16 on cpu', `${BASE}  precision: 16-true\ndevice: cpu\n`, 'fp16-on-cpu', E, '16-true'],
  ['fp32 on cuda', `${BASE}  precision: 32-true\ndevice: cuda\n`, 'precision-on-cuda', E, '32-true'],
  ['sweep key unknown', `${BASE}sweep:\n  lora.rank: [8, 16]\n`, 'sweep-unknown-key', E, 'lora.rank'],
  ['sweep expression', `${BASE}sweep:\n  lora.alpha: ["=2*"]\n`, 'sweep-bad-expression', E, '"'],
  ['sweep value', `${BASE}sweep:\n  lora.dropout: [0.1, 2]\n`, 'sweep-bad-value', E, '2'],
  [
    'sweep too large',
    `${BASE}sweep:\n  train.seed: [${Array.from({ length: 70 }, (_, i) => i).join(', ')}]\n  data.seed: [${Array.from({ length: 70 }, (_, i) => i).join(', ')}]\n`,
    'sweep-too-large',
    E,
    'train.seed',
  ],
];

test('the clean base config has no problems', () => {
  assert.deepEqual(diagnostics(analyzeConfig(BASE, '/ws/run.lora.yaml', workspace(EXTRA_FILES))), []);
});

for (const [rule, text, code, severity, covered] of CASES) {
  test(`rule: ${rule}`, () => {
    const analysis = analyzeConfig(text, '/ws/run.lora.yaml', workspace(EXTRA_FILES));
    const found = diagnostics(analysis).filter((diagnostic) => diagnostic.code === code);
    assert.equal(found.length, 1, `${code} in ${JSON.stringify(diagnostics(analysis).map((d) => [d.code, d.message]))}`);
    const [diagnostic] = found;
    assert.equal(diagnostic.severity, severity);
    const { start, end } = diagnostic.range;
    assert.equal(start.line, end.line, 'a one-line range');
    assert.equal(analysis.lines[start.line].slice(start.character, end.character), covered);
    assert.ok(diagnostic.message.length > 20);
  });
}
