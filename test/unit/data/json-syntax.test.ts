// The JSON syntax locator agrees with JSON.parse on validity and points at the first bad character.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonSyntaxErrorOffset } from '../../../language-server/src/lib/data/json-syntax';

test('valid JSON has no error offset; JSON.parse agrees on random mutations', () => {
  const valid = ['[]', '{}', '[1, -2.5e3, "a\\u00e9\\n", true, false, null, {"k": [ {} ]}]', '\ufeff[{"instruction": "x", "output": "y"}]'];
  for (const text of valid) assert.equal(jsonSyntaxErrorOffset(text), null, text);
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const base = '[{"instruction": "a \\"b\\"", "input": "", "output": "c"}, {"n": [1, 2.5, -3e2, true, null]}]';
  for (let trial = 0; trial < 2000; trial++) {
    const chars = [...base];
    const pos = Math.floor(rand() * chars.length);
    const op = rand();
    if (op < 0.33) chars.splice(pos, 1);
    else if (op < 0.66) chars.splice(pos, 0, '{}[],:"x1 '[Math.floor(rand() * 10)]);
    else chars[pos] = '{}[],:"x1 '[Math.floor(rand() * 10)];
    const text = chars.join('');
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    assert.equal(jsonSyntaxErrorOffset(text) === null, parses, text);
  }
});

test('the offset is where the text goes wrong', () => {
  const text = '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c", "output": }\n]\n';
  const offset = jsonSyntaxErrorOffset(text)!;
  assert.equal(text[offset], '}');
  assert.equal(text.slice(0, offset).split('\n').length, 3);
  assert.equal(jsonSyntaxErrorOffset('[1, 2'), 5);
});
