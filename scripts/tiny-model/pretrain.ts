// Pretrains the bundled tiny Llama with LoRA Lab's own engine (full finetune mode) on the
// procedural corpus, exports it as a Hugging Face folder (examples/tiny-llama) and measures its
// exact-match accuracy on the held-out 2-digit arithmetic questions.
// Usage: npx tsx scripts/tiny-model/pretrain.ts [--out DIR] [--threads N] [--skip-data]
//        [--start-from DIR --start-phase K]  (continue with phase K+1 from a folder phases 1..K wrote)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon, type EngineBatch } from '../../native/trainer/addon';
import { loadTokenizer } from '../../language-server/src/lib/data/tokenizer';
import { writeSafetensors } from '../../native/trainer/io/safetensors';
import { exportFullModel } from '../../native/trainer/run/export-model';
import { configWith, engineOptions, threadCount } from '../../native/trainer/run/engine-options';
import { buildTinyModelData, defaultBuildDataOptions, generateCorpus, DEFAULT_CORPUS_OPTIONS } from './index';
import { Prng } from './prng';

export const TINY_ARCHITECTURE = {
  vocab_size: 2048,
  hidden_size: 128,
  intermediate_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
};

/**
 * One pretraining phase: a fresh AdamW run (warmup + cosine to lr/10) from the previous phase's
 * weights (exported in bf16, as the final model is). `arithmeticShare` of the rows come from a
 * stream of the corpus' arithmetic documents alone, the rest from the whole corpus.
 */
export interface PretrainPhase {
  steps: number;
  learningRate: number;
  warmupSteps: number;
  arithmeticShare: number;
}

/** Phase 1 learns the language of the whole corpus; phases 2 and 3 concentrate on arithmetic. */
export const DEFAULT_PHASES: PretrainPhase[] = [
  { steps: 2000, learningRate: 3e-3, warmupSteps: 100, arithmeticShare: 0 },
  { steps: 1200, learningRate: 2e-3, warmupSteps: 50, arithmeticShare: 0.75 },
  { steps: 1500, learningRate: 1.5e-3, warmupSteps: 50, arithmeticShare: 0.9 },
];

export interface PretrainOptions {
  phases: PretrainPhase[];
  /** Skip the first phases and start from this model folder (the output of those phases). */
  startFrom?: { dir: string; phase: number };
  rowsPerStep: number;
  seqLen: number;
  seed: number;
  threads: number;
  outDir: string;
  log: (line: string) => void;
}

/** Random init in HF layout: N(0, 0.02) weights, unit norms (as transformers' LlamaPreTrainedModel). */
function writeInitialCheckpoint(dir: string, tokenizerDir: string, seed: number): void {
  const a = TINY_ARCHITECTURE;
  const prng = new Prng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(prng.next() + 1e-12)) * Math.cos(2 * Math.PI * prng.next());
  const tensor = (name: string, shape: number[], fill?: number) => {
    const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill ?? normal() * 0.02;
    return { name, shape, data };
  };
  const headDim = a.hidden_size / a.num_attention_heads;
  const tensors = [tensor('model.embed_tokens.weight', [a.vocab_size, a.hidden_size])];
  for (let l = 0; l < a.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      tensor(`${p}.input_layernorm.weight`, [a.hidden_size], 1),
      tensor(`${p}.self_attn.q_proj.weight`, [a.num_attention_heads * headDim, a.hidden_size]),
      tensor(`${p}.self_attn.k_proj.weight`, [a.num_key_value_heads * headDim, a.hidden_size]),
      tensor(`${p}.self_attn.v_proj.weight`, [a.num_key_value_heads * headDim, a.hidden_size]),
      tensor(`${p}.self_attn.o_proj.weight`, [a.hidden_size, a.num_attention_heads * headDim]),
      tensor(`${p}.post_attention_layernorm.weight`, [a.hidden_size], 1),
      tensor(`${p}.mlp.gate_proj.weight`, [a.intermediate_size, a.hidden_size]),
      tensor(`${p}.mlp.up_proj.weight`, [a.intermediate_size, a.hidden_size]),
      tensor(`${p}.mlp.down_proj.weight`, [a.hidden_size, a.intermediate_size]),
    );
  }
  tensors.push(tensor('model.norm.weight', [a.hidden_size], 1));
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, 'F32');
  const tokenizerConfig = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_act: 'silu',
    ...a,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 0,
    initializer_range: 0.02,
    _comment: `LoRA Lab's bundled tiny model; tokenizer ${String(tokenizerConfig.tokenizer_class ?? '')}`,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
    writeFileSync(join(dir, f), readFileSync(join(tokenizerDir, f)));
  }
}

/** Rows of seqLen + 1 tokens cut from the packed corpus stream. */
function packRows(stream: number[], seqLen: number): Int32Array[] {
  const rows: Int32Array[] = [];
  for (let i = 0; i + seqLen + 1 <= stream.length; i += seqLen) rows.push(Int32Array.from(stream.slice(i, i + seqLen + 1)));
  return rows;
}

function batchOf(rows: Int32Array[], seqLen: number): EngineBatch {
  const tokens = new Int32Array(rows.length * seqLen);
  const targets = new Int32Array(rows.length * seqLen);
  rows.forEach((row, r) => {
    tokens.set(row.subarray(0, seqLen), r * seqLen);
    targets.set(row.subarray(1, seqLen + 1), r * seqLen);
  });
  return { rows: rows.length, seqLen, tokens, targets };
}

export async function heldOutAccuracy(
  modelDir: string,
  questionsPath: string,
  limit = Infinity,
  threads = threadCount(),
): Promise<{ correct: number; total: number }> {
  const tokenizer = loadTokenizer(modelDir);
  const config = configWith({ 'model.precision': 'bf16-true', 'train.method': 'full', device: 'cpu' });
  const engine = await loadAddon().loadEngine(modelDir, engineOptions(config, 1, false, undefined, threads));
  try {
    const questions = readFileSync(questionsPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { context: string; completion: string });
    let correct = 0;
    let total = 0;
    for (const q of questions.slice(0, Number.isFinite(limit) ? limit : undefined)) {
      const prompt = Int32Array.from(tokenizer.encode(q.context, { bos: tokenizer.addBos }));
      const out = await engine.generate(prompt, { maxNewTokens: 8, temperature: 0, stopTokens: tokenizer.stopIds });
      const text = tokenizer.decode([...out].filter((id) => !tokenizer.stopIds.includes(id)));
      const answer = text.split('\n')[0];
      if (answer.trim() === q.completion.trim()) correct++;
      total++;
    }
    return { correct, total };
  } finally {
    engine.dispose();
  }
}

/** Seeded shuffled order over `count` rows, refilled each time it runs out. */
class RowSampler {
  private order: number[] = [];
  constructor(
    private readonly count: number,
    private readonly prng: Prng,
  ) {}
  next(): number {
    if (this.order.length === 0) {
      this.order = [...Array(this.count).keys()];
      for (let j = this.order.length - 1; j > 0; j--) {
        const k = this.prng.int(0, j);
        [this.order[j], this.order[k]] = [this.order[k], this.order[j]];
      }
    }
    return this.order.pop()!;
  }
}

async function runPhase(
  index: number,
  phase: PretrainPhase,
  fromDir: string,
  toDir: string,
  corpus: { all: Int32Array[]; arithmetic: Int32Array[] },
  options: PretrainOptions,
): Promise<void> {
  const config = configWith({
    'model.precision': '32-true',
    'train.method': 'full',
    'train.optimizer': 'adamw',
    'train.learning_rate': phase.learningRate,
    'train.weight_decay': 0.01,
    'train.betas': [0.9, 0.95],
    'train.lr_scheduler': 'cosine',
    'train.warmup_steps': phase.warmupSteps,
    'train.min_lr': phase.learningRate / 10,
    'train.grad_clip': 1.0,
    'train.seed': options.seed + index,
    device: 'cpu',
  });
  const engine = await loadAddon().loadEngine(fromDir, engineOptions(config, phase.steps, true, undefined, options.threads));
  const prng = new Prng(options.seed + 1 + 100 * index);
  const allRows = new RowSampler(corpus.all.length, prng);
  const arithmeticRows = new RowSampler(corpus.arithmetic.length, prng);
  const started = Date.now();
  for (let step = 1; step <= phase.steps; step++) {
    const picked: Int32Array[] = [];
    for (let i = 0; i < options.rowsPerStep; i++) {
      const arithmetic = phase.arithmeticShare > 0 && prng.next() < phase.arithmeticShare;
      picked.push(arithmetic ? corpus.arithmetic[arithmeticRows.next()] : corpus.all[allRows.next()]);
    }
    const result = await engine.step([batchOf(picked, options.seqLen)]);
    if (step % 50 === 0 || step === 1 || step === phase.steps) {
      const s = (Date.now() - started) / 1000;
      options.log(
        `phase ${index + 1} step ${step}/${phase.steps} loss ${result.loss.toFixed(4)} lr ${result.lr.toExponential(2)} ${((step * options.rowsPerStep * options.seqLen) / s).toFixed(0)} tokens/s`,
      );
    }
  }
  const work = mkdtempSync(join(tmpdir(), 'lora-lab-phase-'));
  try {
    await engine.saveState(work);
    engine.dispose();
    await exportFullModel(work, fromDir, toDir, 'BF16');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function pretrain(options: PretrainOptions): Promise<void> {
  const root = join(__dirname, '../..');
  const tokenizerDir = join(root, 'examples/tiny-llama');
  const work = mkdtempSync(join(tmpdir(), 'lora-lab-pretrain-'));
  try {
    let current = join(work, 'init');
    let first = 0;
    if (options.startFrom) {
      current = options.startFrom.dir;
      first = options.startFrom.phase;
    } else {
      writeInitialCheckpoint(current, tokenizerDir, options.seed);
    }
    const tokenizer = loadTokenizer(current);
    const corpus = generateCorpus(DEFAULT_CORPUS_OPTIONS);
    const pack = (docs: { text: string }[]) => {
      const stream: number[] = [];
      for (const doc of docs) stream.push(...tokenizer.encode(doc.text, { bos: true }), tokenizer.eosId);
      return packRows(stream, options.seqLen);
    };
    const rows = { all: pack(corpus.documents), arithmetic: pack(corpus.documents.filter((d) => d.kind.startsWith('arithmetic'))) };
    options.log(
      `corpus: ${corpus.documents.length} documents, ${rows.all.length} rows of ${options.seqLen} tokens (${rows.arithmetic.length} arithmetic-only rows)`,
    );
    const started = Date.now();
    for (let i = first; i < options.phases.length; i++) {
      const next = join(work, `phase-${i + 1}`);
      await runPhase(i, options.phases[i], current, next, rows, options);
      current = next;
    }
    mkdirSync(options.outDir, { recursive: true });
    for (const f of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'generation_config.json',
    ]) {
      writeFileSync(join(options.outDir, f), readFileSync(join(current, f)));
    }
    options.log(`wrote ${options.outDir} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const root = join(__dirname, '../..');
  const outIndex = args.indexOf('--out');
  const outDir = outIndex >= 0 ? args[outIndex + 1] : join(root, 'examples/tiny-llama');
  if (!args.includes('--skip-data')) buildTinyModelData(defaultBuildDataOptions(root));
  const fromIndex = args.indexOf('--start-from');
  await pretrain({
    phases: DEFAULT_PHASES,
    startFrom: fromIndex >= 0 ? { dir: args[fromIndex + 1], phase: option('--start-phase', 1) } : undefined,
    rowsPerStep: option('--rows', 32),
    seqLen: option('--seq', 64),
    seed: option('--seed', 1234),
    threads: option('--threads', threadCount()),
    outDir,
    log: (line) => console.log(line),
  });
  const result = await heldOutAccuracy(outDir, join(root, 'examples/data/eval/arithmetic_2ds_heldout.jsonl'));
  console.log(
    `held-out 2-digit arithmetic, greedy exact match: ${result.correct}/${result.total} (${((100 * result.correct) / result.total).toFixed(1)}%)`,
  );
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
