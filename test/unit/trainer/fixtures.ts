// A temp workspace for trainer tests: a tiny random checkpoint, a small Alpaca JSON and CSV made
// from the bundled dataset, and a config writer with per-test settings.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { makeTinyCheckpoint } from '../helpers/tiny-checkpoint';

const repoRoot = join(__dirname, '../../..');

export interface Workspace {
  dir: string;
  checkpoint: string;
  alpacaPath: string;
  csvPath: string;
  writeConfig(name: string, settings?: Record<string, Record<string, unknown> | string>): string;
}

export function makeWorkspace(records = 40): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'lora-lab-train-'));
  const checkpoint = makeTinyCheckpoint(join(dir, 'checkpoints/tiny'));
  const all = JSON.parse(readFileSync(join(repoRoot, 'examples/data/alpaca.json'), 'utf8')) as {
    instruction: string;
    input: string;
    output: string;
  }[];
  const subset = all.slice(0, records);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const alpacaPath = join(dir, 'data/alpaca.json');
  writeFileSync(alpacaPath, JSON.stringify(subset, null, 1));
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const csvPath = join(dir, 'data/alpaca.csv');
  writeFileSync(
    csvPath,
    ['instruction,input,output', ...subset.map((r) => [r.instruction, r.input, r.output].map(quote).join(','))].join('\r\n') + '\r\n',
  );
  return {
    dir,
    checkpoint,
    alpacaPath,
    csvPath,
    writeConfig(name, settings = {}) {
      const base: Record<string, unknown> = {
        name,
        model: { checkpoint: 'checkpoints/tiny', precision: '32-true' },
        lora: { r: 4, alpha: 8, dropout: 0.0, query: true, value: true },
        data: { format: 'alpaca', path: 'data/alpaca.json', max_seq_length: 96, val_split_fraction: 0.1 },
        train: {
          global_batch_size: 4,
          micro_batch_size: 2,
          max_steps: 8,
          learning_rate: 0.01,
          warmup_steps: 2,
          log_interval: 1,
          val_interval: 4,
          save_interval: 2,
          keep_checkpoints: 2,
        },
        device: 'cpu',
        out_dir: 'out',
      };
      for (const [section, value] of Object.entries(settings)) {
        base[section] = typeof value === 'object' && typeof base[section] === 'object' ? { ...(base[section] as object), ...value } : value;
      }
      const path = join(dir, `${name}.lora.yaml`);
      writeFileSync(path, stringify(base));
      return path;
    },
  };
}
