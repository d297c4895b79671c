// Dataset reading: Alpaca JSON, JSONL and CSV (quotes, embedded newlines, BOM, CRLF), and every
// malformed-input case reported with file and line, nothing dropped silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DatasetError, formatIssue, invalidUtf8Offset, loadDataset, parseDataset } from '../../../language-server/src/lib/data/dataset';
import { parseCsv, CsvSyntaxError } from '../../../language-server/src/lib/data/csv';

const fixtures = join(process.cwd(), 'test', 'fixtures', 'data');

test('Alpaca JSON: every record with its line; an absent input is empty; empty outputs are warned about', () => {
  const dataset = loadDataset(join(fixtures, 'alpaca-small.json'), 'alpaca');
  assert.equal(dataset.records.length, 5);
  assert.deepEqual(
    dataset.records.map((r) => r.line),
    [2, 7, 12, 13, 18],
  );
  assert.equal(dataset.records[1].input, 'The cat sleeps on the sofa.');
  assert.equal(dataset.records[2].input, '');
  assert.equal(dataset.records[0].output, '1. Eat a balanced diet.\n2. Exercise regularly.\n3. Get enough sleep.');
  assert.deepEqual(
    dataset.issues.map((i) => [i.severity, i.line, i.record, i.field]),
    [['warning', 18, 4, 'output']],
  );
  assert.match(formatIssue(dataset.issues[0]), /alpaca-small\.json:18: warning \(record 5\): the output is empty/);
});

test('JSONL: CRLF, blank lines and a missing input', () => {
  const dataset = loadDataset(join(fixtures, 'records.jsonl'), 'jsonl');
  assert.deepEqual(
    dataset.records.map((r) => [r.instruction, r.input, r.output, r.line]),
    [
      ['Name a primary color.', '', 'Red.', 1],
      ['Add the numbers.', '2 and 3', '5', 3],
      ['Describe Zürich in one word.', '', 'Schön.', 4],
    ],
  );
  assert.deepEqual(dataset.issues, []);
});

test('CSV: BOM, CRLF, quoted fields with commas, "" and embedded newlines, an empty input column', () => {
  const dataset = loadDataset(join(fixtures, 'records.csv'), 'csv');
  assert.deepEqual(
    dataset.records.map((r) => [r.instruction, r.input, r.output, r.line]),
    [
      ['Summarize the text.', 'Line one,\r\nline two with "quotes".', 'Two lines, quoted.', 2],
      ['Name a fruit.', '', 'Apple', 4],
      ['Multi\nline\ninstruction', 'x', 'y', 6],
    ],
  );
});

test('CSV parser: rows, lines and syntax errors with positions', () => {
  assert.deepEqual(parseCsv('a,b\n1,"2\n3"\n4,5'), [
    { fields: ['a', 'b'], line: 1 },
    { fields: ['1', '2\n3'], line: 2 },
    { fields: ['4', '5'], line: 4 },
  ]);
  assert.deepEqual(
    parseCsv('a,\n,').map((row) => row.fields),
    [
      ['a', ''],
      ['', ''],
    ],
  );
  assert.throws(
    () => parseCsv('a,b\n1,"x"y\n'),
    (e: unknown) => e instanceof CsvSyntaxError && e.line === 2 && e.column === 6,
  );
  assert.throws(
    () => parseCsv('a,b\n1,x"y\n'),
    (e: unknown) => e instanceof CsvSyntaxError && e.line === 2 && e.column === 4,
  );
  assert.throws(
    () => parseCsv('a\n\n"open\nmore'),
    (e: unknown) => e instanceof CsvSyntaxError && e.line === 3 && /never closed/.test(e.message),
  );
});

test('malformed files throw DatasetError naming file and line', () => {
  const cases: Array<[string, 'alpaca' | 'jsonl' | 'csv', RegExp]> = [
    ['malformed.json', 'alpaca', /malformed\.json:3: error: malformed JSON/],
    [
      'malformed.jsonl',
      'jsonl',
      /malformed\.jsonl:2: error \(record 2\): malformed JSON line[\s\S]*malformed\.jsonl:3: error \(record 3\): the required field 'output' is missing/,
    ],
    ['malformed.csv', 'csv', /malformed\.csv:3: error: malformed CSV at column 1: unterminated quoted field/],
  ];
  for (const [name, format, message] of cases) {
    assert.throws(
      () => loadDataset(join(fixtures, name), format),
      (e: unknown) => e instanceof DatasetError && message.test(e.message) && e.issues.length > 0,
      name,
    );
  }
  assert.throws(() => loadDataset(join(fixtures, 'absent.json'), 'alpaca'), /cannot read the dataset.*check data\.path/);
});

test('every malformed record is listed, none dropped silently', () => {
  const text =
    '[{"instruction": "a", "output": "b"},\n {"instruction": 3, "output": "x"},\n {"output": "y"},\n "just text",\n {"instruction": "c", "input": null, "output": "d"}]';
  const { records, issues } = parseDataset(text, 'd.json', 'alpaca');
  assert.deepEqual(
    records.map((r) => r.index),
    [0, 4],
  );
  assert.deepEqual(
    issues.map((i) => [i.line, i.record, i.field, i.severity]),
    [
      [2, 1, 'instruction', 'error'],
      [3, 2, 'instruction', 'error'],
      [4, 3, undefined, 'error'],
    ],
  );
  assert.match(issues[0].message, /'instruction' must be a string/);
  assert.match(issues[2].message, /expected an object/);
  assert.match(parseDataset('{"instruction": "a"}', 'd.json', 'alpaca').issues[0].message, /not a list/);
  const cutShort = parseDataset('[{"instruction": "a", "output": "b"},\n {"instruction": "c",\n  "output": "d"', 'd.json', 'alpaca').issues;
  assert.deepEqual(
    cutShort.map((i) => [i.line, i.severity]),
    [[3, 'error']],
    'a file cut short points at its end',
  );
  const trailingComma = parseDataset('[\n {"instruction": "a", "output": "b"},\n]\n', 'd.json', 'alpaca').issues;
  assert.deepEqual(
    trailingComma.map((i) => i.line),
    [3],
  );
  assert.match(parseDataset('[]', 'd.json', 'alpaca').issues[0].message, /no records/);
  const csv = parseDataset('instruction,output\na,b\nc,d,e\n', 'd.csv', 'csv').issues;
  assert.deepEqual(
    csv.map((i) => [i.line, i.record]),
    [[3, 1]],
  );
  assert.match(csv[0].message, /3 field\(s\) but the header has 2/);
  assert.match(parseDataset('prompt,answer\na,b\n', 'd.csv', 'csv').issues[0].message, /lacks the column\(s\) instruction, output/);
  const blank = parseDataset('{"instruction": " ", "output": "x"}\n', 'd.jsonl', 'jsonl').issues;
  assert.deepEqual(
    blank.map((i) => [i.severity, i.field]),
    [['warning', 'instruction']],
  );
});

test('a file that is not UTF-8 is an error naming the line of the first bad byte', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-utf8-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const latin1 = join(dir, 'latin1.csv');
  writeFileSync(latin1, Buffer.concat([Buffer.from('instruction,output\nA,B\nCaf'), Buffer.from([0xe9]), Buffer.from(',x\n')]));
  assert.throws(
    () => loadDataset(latin1, 'csv'),
    (e: unknown) => e instanceof DatasetError && /latin1\.csv:3: error: byte 0xe9 at offset 26 is not UTF-8/.test(e.message),
  );
  assert.equal(invalidUtf8Offset(Buffer.from('plain ascii')), -1);
  assert.equal(invalidUtf8Offset(Buffer.from('Zürich 🤗 数据')), -1);
  assert.equal(invalidUtf8Offset(Uint8Array.from([0x61, 0xc0, 0x80])), 1, 'overlong');
  assert.equal(invalidUtf8Offset(Uint8Array.from([0xed, 0xa0, 0x80])), 0, 'surrogate');
  assert.equal(invalidUtf8Offset(Uint8Array.from([0x61, 0xf0, 0x9f, 0xa4])), 1, 'cut short');
  assert.equal(invalidUtf8Offset(Uint8Array.from([0xff, 0xfe, 0x61, 0x00])), 0, 'UTF-16');
  const bom = join(dir, 'bom.jsonl');
  writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"instruction": "a", "output": "b"}\n')]));
  assert.equal(loadDataset(bom, 'jsonl').records[0].instruction, 'a');
});

test('a file that is not a dataset (data.path: /etc/passwd) is never quoted: positions only', () => {
  const secret = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n';
  for (const format of ['alpaca', 'jsonl', 'csv'] as const) {
    const { issues } = parseDataset(secret, '/etc/passwd', format);
    assert.ok(issues.length > 0, format);
    for (const issue of issues) {
      assert.doesNotMatch(issue.message, /root|daemon|x:0|bin/, `${format}: ${issue.message}`);
      assert.ok(issue.line >= 1);
    }
  }
  assert.deepEqual(
    parseDataset(secret, '/etc/passwd', 'jsonl').issues.map((issue) => [issue.line, issue.record, issue.message]),
    [
      [1, 0, 'malformed JSON line at column 1'],
      [2, 1, 'malformed JSON line at column 1'],
    ],
  );
  assert.doesNotMatch(
    parseDataset('[1, {"instruction": 7, "output": "secret-value"}]', '/etc/shadow', 'alpaca')
      .issues.map((issue) => issue.message)
      .join('\n'),
    /secret|7/,
  );
});

test('a file named as a dataset gets a short excerpt of the bad record', () => {
  const line = `not json ${'y'.repeat(200)}`;
  const [issue] = parseDataset(`${line}\n`, 'train.jsonl', 'jsonl').issues;
  assert.equal(issue.message, `malformed JSON line at column 1 near "${line.slice(0, 30)}..."`);
  const [header] = parseDataset('prompt,answer\na,b\n', 'train.csv', 'csv').issues;
  assert.match(header.message, /lacks the column\(s\) instruction, output \(found "prompt,answer"\)/);
});

test('a JSONL file read as alpaca suggests format: jsonl; a JSON list read as jsonl suggests alpaca', () => {
  const jsonl = '{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": "d"}\n';
  const [asAlpaca] = parseDataset(jsonl, 'train.json', 'alpaca').issues;
  assert.match(asAlpaca.message, /one JSON object per line \(JSONL\).*set data\.format: jsonl/);
  const list = '[\n{"instruction": "a", "output": "b"}\n]\n';
  const asJsonl = parseDataset(list, 'train.jsonl', 'jsonl').issues;
  assert.match(asJsonl[0].message, /the file is one JSON list: set data\.format: alpaca/);
});
