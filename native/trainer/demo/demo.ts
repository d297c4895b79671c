// `lora-lab demo`: the reference article's first comparison on the bundled tiny model: the LoRA
// defaults vs QLoRA nf4, trained with the CPU engine, as a table (peak memory, time, tokens/s,
// final losses) plus answers before and after finetuning; also written as Markdown.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from '../addon';
import { StreamDecoder } from '../data/stream-decoder';
import { alpacaPrompt } from '../../../language-server/src/lib/data/prompts';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import type { RunJson } from '../protocol';
import { writeFileAtomic } from '../run/atomic';
import { configWith, engineOptions, threadCount } from '../run/engine-options';
import { EventSink } from '../run/events';
import { readRunJson } from '../run/run-record';
import { runTraining, StopSignal } from '../run/trainer';
import { planRuns } from '../commands/train';

export interface DemoOptions {
  examplesDir: string;
  quick: boolean;
  log: (line: string) => void;
}

export interface DemoRow {
  config: string;
  quantize: string;
  status: string;
  run?: RunJson;
  runDir?: string;
  wallS: number;
  error?: string;
}

const PROMPTS = [
  { instruction: 'Give the plural of this noun.', input: 'fox' },
  { instruction: 'Capitalise the first letter of every word.', input: 'the cat sat on a warm mat' },
  { instruction: 'Which language is mainly spoken in this country?', input: 'Canada' },
];

async function answer(checkpoint: string, adapter: string | null, instruction: string, input: string): Promise<string> {
  const tokenizer = loadTokenizer(checkpoint);
  const config = configWith({ 'model.precision': 'bf16-true', 'train.method': adapter ? 'lora' : 'full', device: 'cpu' });
  const engine = await loadAddon().loadEngine(checkpoint, engineOptions(config, 1, false));
  try {
    if (adapter) await engine.loadAdapter(adapter);
    const prompt = tokenizer.encode(alpacaPrompt({ instruction, input }), { bos: tokenizer.addBos });
    const decoder = new StreamDecoder(tokenizer, { skipSpecialTokens: true }, prompt);
    let text = '';
    await engine.generate(Int32Array.from(prompt), { maxNewTokens: 24, temperature: 0, stopTokens: tokenizer.stopIds }, (id) => {
      if (!tokenizer.stopIds.includes(id)) text += decoder.push(id);
    });
    return (text + decoder.flush()).trim().split('\n')[0];
  } finally {
    engine.dispose();
  }
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

export function demoTable(rows: DemoRow[]): string {
  const head = '| config | quantize | status | peak memory | weights | train time | tokens/s | final train loss | final val loss |';
  const rule = '|---|---|---|---:|---:|---:|---:|---:|---:|';
  const body = rows.map((r) => {
    const s = r.run?.summary;
    const weights = s ? (s.peakBytesByCategory.weights ?? 0) + (s.peakBytesByCategory.quant_constants ?? 0) : undefined;
    return `| ${r.config} | ${r.quantize} | ${r.status}${r.error ? `: ${r.error.replace(/\|/g, '/')}` : ''} | ${mib(s?.peakBytes)} | ${mib(weights)} | ${s ? `${s.trainTimeS.toFixed(1)} s` : '-'} | ${s ? s.tokensPerS.toFixed(0) : '-'} | ${s?.finalTrainLoss?.toFixed(4) ?? '-'} | ${s?.finalValLoss?.toFixed(4) ?? '-'} |`;
  });
  return [head, rule, ...body].join('\n');
}

export async function runDemo(options: DemoOptions): Promise<{ rows: DemoRow[]; markdown: string; failed: boolean }> {
  const { examplesDir, quick, log } = options;
  const model = join(examplesDir, 'tiny-llama');
  if (!existsSync(join(model, 'model.safetensors'))) {
    throw Object.assign(new Error(`${model}: the bundled tiny model is missing; rebuild it with \`npm run build:tiny-model\``), {
      code: 'E_CHECKPOINT_NOT_FOUND',
    });
  }
  const steps = quick ? 200 : 1000;
  const rows: DemoRow[] = [];
  const started = new Date();
  for (const file of ['lora-default.lora.yaml', 'qlora-nf4.lora.yaml']) {
    const [plan] = planRuns(
      {
        config: join(examplesDir, file),
        json: false,
        ipc: false,
        sets: [`train.max_steps=${steps}`, `train.val_interval=${steps / 2}`, `train.save_interval=${steps}`],
        variant: null,
      },
      started,
    );
    log(`training ${file} (${steps} steps) -> ${plan.runDir}`);
    const t0 = Date.now();
    const sink = new EventSink({ json: false, ipc: false, tty: false, write: () => {} });
    const outcome = await runTraining(plan, sink, new StopSignal());
    const run = existsSync(join(plan.runDir, 'run.json')) ? readRunJson(plan.runDir) : undefined;
    rows.push({
      config: file,
      quantize: plan.config.model.quantize,
      status: outcome,
      run,
      runDir: plan.runDir,
      wallS: (Date.now() - t0) / 1000,
      error: run?.error ? `${run.error.code}` : undefined,
    });
    log(`  ${outcome} in ${((Date.now() - t0) / 1000).toFixed(1)} s${run?.error ? ` (${run.error.code}: ${run.error.message})` : ''}`);
  }
  const lora = rows.find((r) => r.status === 'completed' && r.quantize === 'none');
  const answers: string[] = [];
  if (lora?.runDir) {
    for (const p of PROMPTS) {
      const before = await answer(model, null, p.instruction, p.input);
      const after = await answer(model, join(lora.runDir, 'adapter'), p.instruction, p.input);
      answers.push(`| ${p.instruction} ${p.input} | ${before.replace(/\|/g, '/')} | ${after.replace(/\|/g, '/')} |`);
    }
  }
  const markdown = [
    `# LoRA Lab demo (${quick ? 'quick, ' : ''}${steps} steps, ${started.toISOString()})`,
    '',
    `Bundled tiny Llama (examples/tiny-llama), CPU engine, ${threadCount()} threads, ${loadAddon().deviceReport().cpu.model}.`,
    '',
    demoTable(rows),
    '',
    '## Answers before and after LoRA finetuning (greedy)',
    '',
    '| prompt | base model | after LoRA |',
    '|---|---|---|',
    ...answers,
    '',
  ].join('\n');
  const outDir = join(examplesDir, 'demo-results');
  mkdirSync(outDir, { recursive: true });
  writeFileAtomic(join(outDir, quick ? 'demo-quick.md' : 'demo.md'), markdown);
  return { rows, markdown, failed: !lora };
}

export function readDemoMarkdown(examplesDir: string, quick: boolean): string {
  return readFileSync(join(examplesDir, 'demo-results', quick ? 'demo-quick.md' : 'demo.md'), 'utf8');
}
