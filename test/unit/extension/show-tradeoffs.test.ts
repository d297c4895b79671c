// "Show Memory/Time Trade-offs": one estimator row per sweep variant, peak memory growing with the
// rank and falling with nf4; unreadable checkpoints and broken sweeps are said in the table.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tradeoffTable } from '../../../extension/src/commands/show-tradeoffs';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-tradeoffs-'));
makeTinyCheckpoint(join(dir, 'ckpt'));
writeFileSync(join(dir, 'data.json'), JSON.stringify([{ instruction: 'a', input: '', output: 'b' }]));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = 'model:\n  checkpoint: ckpt\ndata:\n  path: data.json\ntrain:\n  max_steps: 10\ndevice: cpu\n';

function peaks(table: string): number[] {
  return table
    .split('\n')
    .filter((l) => /^\| \d/.test(l))
    .map((l) => {
      const cell = l.split('|')[4].trim();
      const [value, unit] = cell.split(' ');
      return Number(value) * ({ B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 } as Record<string, number>)[unit];
    });
}

test('one row per variant; the peak grows with the rank', () => {
  const path = join(dir, 'sweep.lora.yaml');
  const table = tradeoffTable(path, `${base}sweep:\n  lora.r: [8, 64, 256]\n  lora.alpha: ["=2*lora.r"]\n`);
  assert.match(table, /# Memory \/ time trade-offs: sweep\.lora\.yaml/);
  const p = peaks(table);
  assert.equal(p.length, 3, table);
  assert.ok(
    p.every((v) => Number.isFinite(v) && v > 0),
    table,
  );
  assert.ok(p[0] < p[1] && p[1] < p[2], table);
  assert.match(table, /lora\.r=8, lora\.alpha=16/);
  assert.match(table, /uncalibrated|\d+ ?(s|min|h)/);
});

test('nf4 lowers the weights; problems are said in the table', () => {
  const path = join(dir, 'q.lora.yaml');
  const table = tradeoffTable(path, `${base}sweep:\n  model.quantize: [none, bnb.nf4]\n`);
  const weights = table
    .split('\n')
    .filter((l) => /^\| \d/.test(l))
    .map((l) => l.split('|')[5].trim());
  assert.equal(weights.length, 2);
  assert.notEqual(weights[0], weights[1]);
  const missing = tradeoffTable(join(dir, 'm.lora.yaml'), base.replace('checkpoint: ckpt', 'checkpoint: nowhere'));
  assert.match(missing, /config\.json cannot be read/);
});
