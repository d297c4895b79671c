// The ONE schema of *.lora.yaml: every key's type, default, range or choices, documentation and,
// where it applies, the reference article's finding. Parse, validation, hover and completion read it.
import { ARTICLE_TASKS, BUILTIN_TASK_NAMES } from '../eval/tasks';

export type KeyType = 'string' | 'path' | 'integer' | 'number' | 'boolean' | 'enum' | 'number-pair' | 'string-list';

export interface KeySpec {
  /** Dotted path, e.g. 'lora.alpha'. */
  key: string;
  type: KeyType;
  /** The default as written in the file (paths unresolved); null = no value. */
  default: unknown;
  /** null is accepted (meaning: off / no limit). */
  nullable?: boolean;
  /** Choices for 'enum' (and for the items of 'string-list'). */
  choices?: readonly string[];
  /** Extra values an 'enum' accepts beyond choices (e.g. cuda:N); for 'string', the form every value must have. */
  pattern?: RegExp;
  /** Inclusive bounds unless the *Exclusive flag is set. */
  min?: number;
  max?: number;
  minExclusive?: boolean;
  maxExclusive?: boolean;
  /** What the key does (first sentence is the summary for completion). */
  doc: string;
  /** One sentence: what the reference article found about this key. */
  finding?: string;
  /** Units of the value where they matter (optimizer steps vs micro-batches, bytes ...). */
  units?: string;
  /** Per-choice documentation for enums. */
  choiceDocs?: Readonly<Record<string, string>>;
  /** May appear under sweep: (everything but name and the sweep itself). */
  sweepable: boolean;
}

/** Hover text of the top-level sweep: key (it has no KeySpec: its children are dotted keys). */
export const SWEEP_DOC =
  'Optional grid: a mapping of dotted keys to lists of values; every combination is one run, named <name>-<variant index>-<UTC YYYYMMDD-HHMMSS>. A string starting with \'=\' is an expression over other keys: numbers, + - * / **, parentheses and dotted keys (e.g. "=2*lora.r").';

/** Top-level mappings; their children are the keys below. */
export const SECTIONS = ['model', 'lora', 'data', 'train', 'eval'] as const;

/** The built-in evaluation tasks (language-server/src/eval: data shipped with LoRA Lab, checked by sha256 when read). */
export const EVAL_TASKS: readonly string[] = BUILTIN_TASK_NAMES;

export const PRECISION_DOCS: Readonly<Record<string, string>> = {
  '32-true':
    'fp32 everywhere: base weights, LoRA params, grads, optimizer state, activations. CPU only (the CUDA engine computes in bf16; device auto picks the CPU).',
  'bf16-true':
    'bf16 base weights (or nf4/fp4 with quantize); fp32 LoRA masters cast to bf16 for the matmul on CUDA; bf16 activations on CUDA, fp32 compute over bf16 storage on CPU.',
  'bf16-mixed':
    "Lit-GPT's fp32 base weights with bf16 copies for compute. Both engines run it as bf16-true today (fp32 LoRA state, bf16 weights); on the CPU with a warning.",
  '16-true': 'fp16 base weights with dynamic loss scaling in Lit-GPT. Not implemented by either engine yet: an error naming the key.',
};

/** Run names become folder names: letters, digits, '.', '_' and '-', not starting with '.'. */
export const RUN_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

const s = (spec: Omit<KeySpec, 'sweepable'> & { sweepable?: boolean }): KeySpec => ({ sweepable: true, ...spec });

export const KEY_SPECS: readonly KeySpec[] = [
  s({
    key: 'name',
    type: 'string',
    default: null,
    nullable: true,
    sweepable: false,
    pattern: RUN_NAME_PATTERN,
    doc: 'Run name; runs are named <name>-<UTC YYYYMMDD-HHMMSS> (with the variant index for a sweep). Default: the file name without .lora.yaml.',
  }),
  s({
    key: 'model.checkpoint',
    type: 'path',
    default: 'checkpoints/meta-llama/Llama-2-7b-hf',
    doc: "Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json), relative to the config file, or a Hub repo id (org/name, org/name@revision) read from the Hugging Face cache (download it with 'lora-lab download' or LoRA Lab: Download Model). A folder that exists wins over a repo id. config.json alone is enough for the estimate. Pickle files (.bin/.pth) are never loaded.",
  }),
  s({
    key: 'model.precision',
    type: 'enum',
    default: 'bf16-true',
    choices: ['bf16-true', 'bf16-mixed', '16-true', '32-true'],
    choiceDocs: PRECISION_DOCS,
    doc: 'Numeric precision of weights, LoRA state and activations.',
    finding: 'The article trained in bf16-true throughout.',
  }),
  s({
    key: 'model.quantize',
    type: 'enum',
    default: 'none',
    choices: ['none', 'bnb.nf4', 'bnb.nf4-dq', 'bnb.fp4', 'bnb.fp4-dq'],
    choiceDocs: {
      none: 'Base weights in model.precision.',
      'bnb.nf4': '4-bit NormalFloat (QLoRA), blocksize 64.',
      'bnb.nf4-dq': 'NF4 with double quantization of the absmax constants.',
      'bnb.fp4': '4-bit float, blocksize 64.',
      'bnb.fp4-dq': 'FP4 with double quantization.',
    },
    doc: 'Quantize the frozen base weights to 4 bits (QLoRA) with bitsandbytes semantics.',
    finding: 'QLoRA saved ~33% memory for ~50% more time on Llama-2-7B (21.33 GB -> 14.18 GB, 1.85 h -> 2.79 h); nf4 and fp4 scored alike.',
  }),
  s({
    key: 'lora.r',
    type: 'integer',
    default: 8,
    min: 1,
    max: 65536,
    doc: 'LoRA rank: the inner dimension of the A (r x in) and B (out x r) adapter matrices.',
    finding: 'r = 256 with alpha = 512 scored best; larger r needs more memory (r = 256: 17.86 GB with AdamW).',
  }),
  s({
    key: 'lora.alpha',
    type: 'number',
    default: 16,
    min: 0,
    minExclusive: true,
    doc: 'LoRA scaling numerator: the adapter output is scaled by alpha / r (alpha / sqrt(r) with rslora).',
    finding: 'alpha = 2r was best; alpha = r/2 (r = 256, alpha = 128) was clearly worse.',
  }),
  s({
    key: 'lora.dropout',
    type: 'number',
    default: 0.05,
    min: 0,
    max: 1,
    maxExclusive: true,
    doc: 'Dropout on the adapter input during training.',
  }),
  s({ key: 'lora.query', type: 'boolean', default: true, doc: 'Adapters on the attention query projection (q_proj).' }),
  s({
    key: 'lora.key',
    type: 'boolean',
    default: false,
    doc: 'Adapters on the attention key projection (k_proj).',
    finding: 'Enabling LoRA for all layers raised memory from 14.18 GB to 16.62 GB and improved the scores.',
  }),
  s({ key: 'lora.value', type: 'boolean', default: true, doc: 'Adapters on the attention value projection (v_proj).' }),
  s({ key: 'lora.projection', type: 'boolean', default: false, doc: 'Adapters on the attention output projection (o_proj).' }),
  s({
    key: 'lora.mlp',
    type: 'boolean',
    default: false,
    doc: 'Adapters on the MLP gate, up and down projections.',
    finding: 'Enabling LoRA for all layers raised memory from 14.18 GB to 16.62 GB and improved the scores.',
  }),
  s({ key: 'lora.head', type: 'boolean', default: false, doc: 'An adapter on the LM head (lm_head).' }),
  s({ key: 'lora.rslora', type: 'boolean', default: false, doc: 'Rank-stabilised LoRA: scale by alpha / sqrt(r) instead of alpha / r.' }),
  s({
    key: 'data.format',
    type: 'enum',
    default: 'alpaca',
    choices: ['alpaca', 'jsonl', 'csv'],
    choiceDocs: {
      alpaca: 'A JSON list of {instruction, input?, output}.',
      jsonl: 'One {instruction, input?, output} object per line.',
      csv: 'A header row with instruction, input (optional), output columns.',
    },
    doc: 'Dataset file format.',
  }),
  s({ key: 'data.path', type: 'path', default: 'data/alpaca.json', doc: 'Dataset file, relative to the config file.' }),
  s({
    key: 'data.prompt_style',
    type: 'enum',
    default: 'alpaca',
    choices: ['alpaca', 'plain', 'chat'],
    choiceDocs: {
      alpaca: 'The Alpaca template (with and without input), as Lit-GPT.',
      plain: 'Instruction (and input) then the response, no template.',
      chat: "The tokenizer's chat template from tokenizer_config.json.",
    },
    doc: 'How a record becomes a prompt.',
  }),
  s({
    key: 'data.mask_prompt',
    type: 'boolean',
    default: false,
    doc: 'Compute the loss on the response tokens only (prompt tokens get no loss).',
  }),
  s({
    key: 'data.val_split_fraction',
    type: 'number',
    default: 0.03865,
    min: 0,
    max: 1,
    maxExclusive: true,
    doc: 'Share of the records held out for the validation loss (deterministic, from data.seed).',
    finding: 'The article held out 2,000 of the 52k Alpaca records (0.03865).',
  }),
  s({
    key: 'data.max_seq_length',
    type: 'integer',
    default: 512,
    min: 8,
    max: 1048576,
    units: 'tokens',
    doc: 'Longer examples are truncated to this many tokens (and counted).',
  }),
  s({ key: 'data.seed', type: 'integer', default: 42, min: 0, doc: 'Seed of the validation split.' }),
  s({
    key: 'train.method',
    type: 'enum',
    default: 'lora',
    choices: ['lora', 'full'],
    choiceDocs: {
      lora: 'Train LoRA adapters only; the base stays frozen.',
      full: 'Full finetune (the baseline): every weight trainable with fp32 masters.',
    },
    doc: 'What is trained.',
  }),
  s({
    key: 'train.global_batch_size',
    type: 'integer',
    default: 128,
    min: 1,
    units: 'examples per optimizer step',
    doc: 'Examples per optimizer step; gradient accumulation = global_batch_size / micro_batch_size.',
  }),
  s({
    key: 'train.micro_batch_size',
    type: 'integer',
    default: 1,
    min: 1,
    units: 'examples per forward/backward',
    doc: 'Examples per forward/backward pass; smaller saves activation memory.',
  }),
  s({
    key: 'train.epochs',
    type: 'integer',
    default: 1,
    min: 1,
    units: 'passes over the training split',
    doc: 'Passes over the training split; ignored when max_steps is set.',
    finding: 'The article saw more epochs hurt: iterating over Alpaca twice made the scores worse.',
  }),
  s({
    key: 'train.max_steps',
    type: 'integer',
    default: null,
    nullable: true,
    min: 1,
    units: 'optimizer steps',
    doc: "Stop after this many optimizer steps (wins over epochs). The article's max_iters counted micro-batches: 50,000 micro-batches at batch 128 = ~390 steps.",
  }),
  s({
    key: 'train.optimizer',
    type: 'enum',
    default: 'adamw',
    choices: ['adamw', 'sgd'],
    choiceDocs: { adamw: 'AdamW (two fp32 state tensors per trainable weight).', sgd: 'SGD with momentum (one state tensor).' },
    doc: 'Optimizer of the trainable weights.',
    finding: 'SGD saved little memory at r = 8 (14.18 -> 14.15 GB) but much at r = 256 (17.86 -> 14.46 GB), with similar scores.',
  }),
  s({ key: 'train.learning_rate', type: 'number', default: 3.0e-4, min: 0, minExclusive: true, doc: 'Peak learning rate.' }),
  s({ key: 'train.weight_decay', type: 'number', default: 0.01, min: 0, doc: 'Decoupled weight decay (AdamW) / L2 (SGD).' }),
  s({
    key: 'train.betas',
    type: 'number-pair',
    default: [0.9, 0.999],
    min: 0,
    max: 1,
    maxExclusive: true,
    doc: "AdamW's beta1 and beta2 (torch's default, as in the article's runs).",
  }),
  s({ key: 'train.momentum', type: 'number', default: 0.9, min: 0, max: 1, maxExclusive: true, doc: 'SGD momentum.' }),
  s({
    key: 'train.lr_scheduler',
    type: 'enum',
    default: 'cosine',
    choices: ['cosine', 'constant', 'linear'],
    choiceDocs: {
      cosine: 'Linear warmup, then cosine decay to min_lr.',
      constant: 'Linear warmup, then constant.',
      linear: 'Linear warmup, then linear decay to min_lr.',
    },
    doc: 'Learning-rate schedule over the optimizer steps.',
    finding: 'A cosine schedule clearly improved SGD runs.',
  }),
  s({ key: 'train.warmup_steps', type: 'integer', default: 100, min: 0, units: 'optimizer steps', doc: 'Linear warmup length.' }),
  s({ key: 'train.min_lr', type: 'number', default: 0.0, min: 0, doc: 'Learning rate at the end of the decay.' }),
  s({
    key: 'train.grad_clip',
    type: 'number',
    default: 1.0,
    nullable: true,
    min: 0,
    minExclusive: true,
    doc: 'Global-norm gradient clip; null disables.',
  }),
  s({
    key: 'train.gradient_checkpointing',
    type: 'boolean',
    default: false,
    doc: 'Recompute activations in the backward pass: less memory, ~30% more time.',
  }),
  s({
    key: 'train.seed',
    type: 'integer',
    default: 1337,
    min: 0,
    doc: 'Seed of initialisation, dropout and shuffling.',
    finding: 'Repeated runs with the same settings gave consistent scores.',
  }),
  s({ key: 'train.log_interval', type: 'integer', default: 1, min: 1, units: 'optimizer steps', doc: 'Steps between metric lines.' }),
  s({
    key: 'train.val_interval',
    type: 'integer',
    default: 100,
    min: 1,
    units: 'optimizer steps',
    doc: 'Steps between validation-loss passes.',
  }),
  s({
    key: 'train.save_interval',
    type: 'integer',
    default: 1000,
    min: 1,
    units: 'optimizer steps',
    doc: 'Steps between checkpoints (resume points).',
  }),
  s({
    key: 'train.keep_checkpoints',
    type: 'integer',
    default: 2,
    min: 1,
    doc: 'Checkpoints kept; older ones are deleted after a newer one is complete.',
  }),
  s({
    key: 'device',
    type: 'enum',
    default: 'auto',
    choices: ['auto', 'cpu', 'cuda'],
    pattern: /^cuda:\d+$/,
    choiceDocs: {
      auto: 'CUDA when a device is present, else CPU.',
      cpu: 'The CPU engine.',
      cuda: 'The first CUDA device (cuda:N for another).',
    },
    doc: 'Where the run computes: auto | cpu | cuda | cuda:N.',
  }),
  s({ key: 'eval.after_train', type: 'boolean', default: false, doc: 'Evaluate automatically when training completes.' }),
  s({
    key: 'eval.tasks',
    type: 'string-list',
    default: [...ARTICLE_TASKS],
    choices: [...EVAL_TASKS],
    doc: "Evaluation tasks (lm-evaluation-harness names; the default is the reference article's set). Their data ships with LoRA Lab.",
    finding: 'In the article LoRA mostly moved arithmetic; TruthfulQA, BLiMP and MMLU barely changed.',
  }),
  s({
    key: 'eval.data_dir',
    type: 'path',
    default: 'data/eval',
    doc: 'Folder for custom task data, relative to the config file. The built-in tasks do not read it: their data ships with LoRA Lab.',
  }),
  s({ key: 'eval.num_fewshot', type: 'integer', default: 0, min: 0, doc: 'Few-shot examples per prompt.' }),
  s({ key: 'eval.batch_size', type: 'integer', default: 4, min: 1, doc: 'Examples per evaluation forward pass.' }),
  s({ key: 'eval.limit', type: 'integer', default: null, nullable: true, min: 1, doc: 'At most this many examples per task; null = all.' }),
  s({
    key: 'eval.profile',
    type: 'enum',
    default: 'lm-eval',
    choices: ['lm-eval', 'article'],
    choiceDocs: {
      'lm-eval': 'Prompts and scoring of lm-evaluation-harness 0.4.x (the default).',
      article: "lm-evaluation-harness 0.3 with Lit-GPT's wrapper, as the reference article ran it (results also carry 0.3's keys).",
    },
    doc: 'Scoring profile of the evaluation: lm-eval | article.',
  }),
  s({
    key: 'eval.include_base',
    type: 'boolean',
    default: true,
    doc: 'Also score the base model (without the adapter) on the same tasks and settings, for the delta; cached per checkpoint, so it is computed once per model.',
  }),
  s({
    key: 'eval.interval',
    type: 'integer',
    default: null,
    nullable: true,
    min: 1,
    units: 'optimizer steps',
    doc: 'Evaluate the adapter every N steps during training with eval.interval_limit examples per task (score curves in the dashboard); null = off.',
  }),
  s({
    key: 'eval.interval_limit',
    type: 'integer',
    default: 20,
    min: 1,
    doc: 'Examples per task of the evaluations every eval.interval steps (small, so training is not slowed much).',
  }),
  s({ key: 'out_dir', type: 'path', default: 'out/lora', doc: 'Runs go to <out_dir>/<run name>/, relative to the config file.' }),
];

export const KEY_SPEC_BY_KEY: ReadonlyMap<string, KeySpec> = new Map(KEY_SPECS.map((spec) => [spec.key, spec]));

export function keySpec(dottedKey: string): KeySpec | undefined {
  return KEY_SPEC_BY_KEY.get(dottedKey);
}

/** Keys directly under a section ('lora' -> ['r', 'alpha', ...]) or top-level keys for ''. */
export function childKeys(section: string): string[] {
  if (section === '') return [...new Set(KEY_SPECS.map((spec) => spec.key.split('.')[0])), 'sweep'];
  const prefix = `${section}.`;
  return KEY_SPECS.filter((spec) => spec.key.startsWith(prefix)).map((spec) => spec.key.slice(prefix.length));
}

/** Human text for a key's range or choices: '1..65536', 'one of: a, b', '> 0'. */
export function describeRange(spec: KeySpec): string {
  if (spec.choices && spec.type === 'enum')
    return `one of: ${spec.choices.join(', ')}${spec.pattern ? ` (or ${spec.pattern.source.replace(/^\^|\$$/g, '')})` : ''}`;
  const low = spec.min === undefined ? '' : `${spec.minExclusive ? '>' : '>='} ${spec.min}`;
  const high = spec.max === undefined ? '' : `${spec.maxExclusive ? '<' : '<='} ${spec.max}`;
  return [low, high].filter(Boolean).join(' and ');
}

/** Markdown hover text: what it does, the default, the range, units and the article's finding. */
export function hoverText(spec: KeySpec): string {
  const lines = [`**${spec.key}** (${spec.type}${spec.nullable ? ' or null' : ''})`, '', spec.doc];
  lines.push('', `Default: \`${JSON.stringify(spec.default)}\``);
  const range = describeRange(spec);
  if (range) lines.push(`Range: ${range}`);
  if (spec.units) lines.push(`Units: ${spec.units}`);
  if (spec.finding) lines.push('', `Article: ${spec.finding}`);
  return lines.join('\n');
}
