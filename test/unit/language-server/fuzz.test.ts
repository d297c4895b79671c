// Fuzz: thousands of random and mutated configs (broken YAML, deep nesting, huge numbers, binary
// junk, alias bombs) through every language feature; nothing may throw, and each input is bounded in time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileSystem } from '../../../language-server/src/config';
import { analyzeConfig, codeActions, codeLenses, completions, diagnostics, hover } from '../../../language-server/src/service';
import { seededRandom } from '../../../language-server/src/lib/data/split';
import { fixtureText } from './lsp-harness';

const CONFIG_JSON = JSON.stringify({
  model_type: 'llama',
  hidden_size: 4096,
  intermediate_size: 11008,
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  vocab_size: 32000,
});
const fileSystem = (configJson: string): FileSystem => {
  const files: Record<string, string> = {
    '/fuzz/checkpoints/llama2-7b/config.json': configJson,
    '/fuzz/checkpoints/llama2-7b/tokenizer.json': '{}',
    '/fuzz/checkpoints/llama2-7b/model.safetensors': '',
    '/fuzz/data/alpaca.json': '[]',
  };
  const isDirectory = (path: string) => Object.keys(files).some((file) => file.startsWith(`${path}/`));
  return {
    exists: (path) => path in files || isDirectory(path),
    isDirectory,
    readFile: (path) => {
      if (!(path in files)) throw new Error(`ENOENT ${path}`);
      return files[path];
    },
    listDir: (path) => [
      ...new Set(
        Object.keys(files)
          .filter((file) => file.startsWith(`${path}/`))
          .map((file) => file.slice(path.length + 1).split('/')[0]),
      ),
    ],
  };
};

const SEEDS = ['valid.lora.yaml', 'planted-errors.lora.yaml', 'syntax-error.lora.yaml', 'sweep.lora.yaml'].map((name) =>
  fixtureText(name).replace(/checkpoints\//g, 'checkpoints/'),
);
const YAML_CHARS = ':-[]{}#&*!|>\'"%@`,?\n\t =.0123456789eE+';
const SPECIAL_VALUES = [
  '1e309',
  '-1e309',
  '99999999999999999999999999',
  '.nan',
  '.inf',
  '-0',
  '0x7fffffff',
  '~',
  'null',
  '""',
  "''",
  '!!binary aGVsbG8=',
  '!!js/function "x"',
  '&a [*a, *a]',
  '*undefined',
  '"=2*lora.r"',
  '"=lora.r**lora.r**99"',
  '"=((((1"',
  '[8, 16, 32, 64, 128, 256, 512, 1024]',
  '{a: {b: {c: 1}}}',
  '|\n  block',
  '\uD800',
  '\u0000',
  '\uFEFF',
];

function junk(random: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(Math.floor(random() * (random() < 0.8 ? 256 : 0x10000)));
  return text;
}

function deepNesting(random: () => number): string {
  const depth = 200 + Math.floor(random() * 1000);
  const kind = Math.floor(random() * 4);
  if (kind === 0) return `lora:\n  r: ${'['.repeat(depth)}8${']'.repeat(random() < 0.5 ? depth : 0)}\n`;
  if (kind === 1) return `train: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`;
  if (kind === 2) return Array.from({ length: Math.min(depth, 400) }, (_, i) => `${' '.repeat(i)}- k${i}:`).join('\n');
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++)
    bomb.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(', ')}]`,
    );
  return `${bomb.join('\n')}\nlora: *j\n`;
}

function mutate(random: () => number, base: string): string {
  let text = base;
  const rounds = 1 + Math.floor(random() * 4);
  for (let round = 0; round < rounds; round++) {
    const at = Math.floor(random() * (text.length + 1));
    const choice = Math.floor(random() * 9);
    if (choice === 0) text = text.slice(0, at) + text.slice(at + Math.floor(random() * 40));
    else if (choice === 1)
      text = text.slice(0, at) + YAML_CHARS[Math.floor(random() * YAML_CHARS.length)].repeat(1 + Math.floor(random() * 3)) + text.slice(at);
    else if (choice === 2) text = text.slice(0, at) + junk(random, 1 + Math.floor(random() * 30)) + text.slice(at);
    else if (choice === 3)
      text = text.replace(/: [^\n]+/g, (match) =>
        random() < 0.2 ? `: ${SPECIAL_VALUES[Math.floor(random() * SPECIAL_VALUES.length)]}` : match,
      );
    else if (choice === 4) {
      const lines = text.split('\n');
      const i = Math.floor(random() * lines.length);
      lines.splice(Math.floor(random() * lines.length), 0, lines[i]);
      text = lines.join('\n');
    } else if (choice === 5)
      text = text
        .split('\n')
        .map((line) => (random() < 0.1 ? `${' '.repeat(Math.floor(random() * 5))}${line.trimStart()}` : line))
        .join('\n');
    else if (choice === 6) text = random() < 0.5 ? text.replace(/\n/g, '\r\n') : `---\n${text}\n---\n${text}`;
    else if (choice === 7)
      text =
        text.slice(0, at) +
        `\nsweep:\n  ${random() < 0.5 ? 'lora.r' : 'lora.rr'}: [${SPECIAL_VALUES[Math.floor(random() * SPECIAL_VALUES.length)]}, 8]\n` +
        text.slice(at);
    else text = text.slice(0, at) + '9'.repeat(1 + Math.floor(random() * 400)) + text.slice(at);
  }
  return text;
}

function randomPosition(random: () => number, text: string): { line: number; character: number } {
  const lines = text.split('\n');
  const line = Math.floor(random() * (lines.length + 1));
  return { line, character: Math.floor(random() * ((lines[line]?.length ?? 0) + 2)) };
}

/** Runs every feature on `text`; returns the milliseconds it took. */
function exercise(random: () => number, text: string, fs: FileSystem): number {
  const started = performance.now();
  const analysis = analyzeConfig(text, '/fuzz/run.lora.yaml', fs);
  // analyzeConfig survives a parse that throws; the parse itself should never need that.
  const fallback = analysis.parsed.problems.find((problem) => problem.message.startsWith('LoRA Lab could not analyse'));
  if (fallback) throw new Error(`parseConfig threw: ${fallback.message}`);
  diagnostics(analysis);
  codeLenses(analysis);
  for (let i = 0; i < 3; i++) {
    completions(analysis, randomPosition(random, text));
    hover(analysis, randomPosition(random, text));
  }
  codeActions(analysis, 'file:///fuzz/run.lora.yaml', {
    start: { line: 0, character: 0 },
    end: { line: analysis.lines.length, character: 0 },
  });
  return performance.now() - started;
}

test('fuzz: random and mutated configs never throw, each within its time bound', () => {
  const seed = Number(process.env.LORALAB_FUZZ_SEED ?? 20261128);
  const random = seededRandom(seed); // seeded, so a failure names the input that caused it
  const budgetMs = 25_000;
  const started = performance.now();
  let slowest = { ms: 0, index: -1 };
  const msByKind = new Array<number>(5).fill(0);
  let count = 0;
  for (; count < 2000 && performance.now() - started < budgetMs; count++) {
    // 0: one to four mutations of a fixture, 1: binary junk, 2: deep nesting or an alias bomb,
    // 3: mutations of mutations, 4: a fixture on the fake checkpoint with a mutated config.json.
    const slot = count % 20;
    const kind = slot < 12 ? 0 : slot < 14 ? 1 : slot === 14 ? 2 : slot < 18 ? 3 : 4;
    const base = SEEDS[count % SEEDS.length];
    const onFakeCheckpoint = base
      .replace(/checkpoints\/llama2-7b/g, '/fuzz/checkpoints/llama2-7b')
      .replace(/data\/alpaca/g, '/fuzz/data/alpaca');
    const text = [
      mutate(random, base),
      junk(random, Math.floor(random() * 2000)),
      deepNesting(random),
      mutate(random, mutate(random, base)),
      onFakeCheckpoint,
    ][kind];
    const configJson = kind === 4 && random() < 0.7 ? mutate(random, CONFIG_JSON) : CONFIG_JSON;
    let ms: number;
    try {
      ms = exercise(random, text, fileSystem(configJson));
    } catch (error) {
      assert.fail(`seed ${seed}, input ${count} threw ${(error as Error).stack}\n--- input ---\n${JSON.stringify(text).slice(0, 2000)}`);
    }
    msByKind[kind] += ms;
    if (ms > slowest.ms) slowest = { ms, index: count };
    assert.ok(ms < 2000, `seed ${seed}, input ${count} took ${ms.toFixed(0)} ms`);
  }
  assert.ok(count >= 1000, `only ${count} inputs within ${budgetMs} ms`);
  console.log(
    `fuzz: ${count} inputs in ${(performance.now() - started).toFixed(0)} ms, slowest #${slowest.index} ${slowest.ms.toFixed(1)} ms (seed ${seed}); ms per kind ${msByKind.map((ms) => ms.toFixed(0)).join(' ')}`,
  );
});
