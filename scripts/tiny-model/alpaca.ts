// The example instruction dataset: Alpaca-format records from the instruction tasks (no arithmetic),
// unique by instruction + input, and an RFC 4180 CSV rendering of part of it.
import { KNOWLEDGE_TASKS, SKILL_TASKS, type InstructionRecord, type InstructionTask } from './instructions';
import { Prng } from './prng';

export interface AlpacaOptions {
  seed: number;
  /** Number of records (all distinct). */
  count: number;
  /** Share of records from the skill tasks (not in the pretraining corpus); the rest are knowledge tasks. */
  skillFraction: number;
}

export const DEFAULT_ALPACA_OPTIONS: AlpacaOptions = { seed: 4321, count: 1500, skillFraction: 0.75 };

/** Generates distinct Alpaca records {instruction, input, output}; deterministic for equal options. */
export function generateAlpaca(options: Partial<AlpacaOptions> = {}): InstructionRecord[] {
  const opts: AlpacaOptions = { ...DEFAULT_ALPACA_OPTIONS, ...options };
  const random = new Prng(opts.seed).fork('alpaca-dataset');
  const skills: InstructionTask[] = Object.values(SKILL_TASKS);
  const knowledge: InstructionTask[] = Object.values(KNOWLEDGE_TASKS);
  const seen = new Set<string>();
  const records: InstructionRecord[] = [];
  const maxAttempts = opts.count * 100;
  for (let attempt = 0; records.length < opts.count; attempt++) {
    if (attempt >= maxAttempts) throw new Error(`Could only generate ${records.length} distinct records of ${opts.count}`);
    const task = random.pick(random.chance(opts.skillFraction) ? skills : knowledge);
    const record = task(random);
    const key = `${record.instruction}\u0000${record.input}`;
    if (seen.has(key)) continue;
    seen.add(key);
    records.push(record);
  }
  return records;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** CSV with a header row instruction,input,output; fields with commas, quotes or newlines are quoted. */
export function alpacaToCsv(records: readonly InstructionRecord[]): string {
  const lines = ['instruction,input,output'];
  for (const record of records) lines.push([record.instruction, record.input, record.output].map(csvField).join(','));
  return lines.join('\n') + '\n';
}
