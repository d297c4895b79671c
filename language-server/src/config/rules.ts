// The rules of CONFIG.md beyond one value's type and range: cross-key checks on a resolved config,
// and the file-system checks (checkpoint folder, data file, eval data, rank vs. model dimensions).
import { hubRefText, type HubCheckpoint } from './hub-ref';
import { withCanonicalShapeKeys } from './model-config-keys';
import { joinPath } from './paths';
import type { FileSystem, LoraLabConfig, ProblemCode, Severity } from './types';

/** A rule's finding before it gets a position in the file. */
export interface RuleProblem {
  severity: Severity;
  code: ProblemCode;
  key: string;
  message: string;
  data?: Record<string, unknown>;
}

const LORA_TARGETS = ['query', 'key', 'value', 'projection', 'mlp', 'head'] as const;

function isCpu(config: LoraLabConfig): boolean {
  return config.device === 'cpu';
}

function isCuda(config: LoraLabConfig): boolean {
  return config.device === 'cuda' || config.device.startsWith('cuda:');
}

/** Learning rates past which an optimizer diverges in practice (a warning: the loss goes non-finite within steps). */
const LEARNING_RATE_LIMITS: Partial<
  Record<LoraLabConfig['train']['optimizer'], { name: string; above: number; replacement: number; usual: string }>
> = {
  adamw: {
    name: 'AdamW',
    above: 1e-2,
    replacement: 3e-4,
    usual: "LoRA with AdamW uses about 3e-4 (the article's value; the tiny examples use 3e-3).",
  },
  sgd: { name: 'SGD', above: 1, replacement: 0.1, usual: 'SGD with momentum uses about 0.01 to 0.1.' },
};

/** Rules that need only the config. `sweptKeys`: keys a sweep varies (the alpha hint is judged per variant then). */
export function checkCrossKeys(config: LoraLabConfig, sweptKeys: ReadonlySet<string> = new Set()): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const { train, lora, model } = config;
  if (train.global_batch_size % train.micro_batch_size !== 0) {
    const lower = Math.floor(train.global_batch_size / train.micro_batch_size) * train.micro_batch_size;
    problems.push({
      severity: 'error',
      code: 'batch-size-multiple',
      key: 'train.global_batch_size',
      message: `train.global_batch_size ${train.global_batch_size} is not a multiple of train.micro_batch_size ${train.micro_batch_size}: gradient accumulation needs a whole number of micro-batches (use ${lower || train.micro_batch_size} or ${lower + train.micro_batch_size}).`,
      data: { replacement: lower || train.micro_batch_size },
    });
  }
  if (model.quantize !== 'none' && isCpu(config)) {
    problems.push({
      severity: 'warning',
      code: 'quantize-on-cpu',
      key: 'model.quantize',
      message: `model.quantize ${model.quantize} with device cpu: QLoRA saves memory on a GPU; on the CPU it runs, slower.`,
    });
  }
  if (model.quantize !== 'none' && train.method === 'full') {
    problems.push({
      severity: 'error',
      code: 'quantize-with-full',
      key: 'model.quantize',
      message: `model.quantize ${model.quantize} cannot be used with train.method full: quantized base weights are frozen. Set quantize: none or method: lora.`,
      data: { replacement: 'none' },
    });
  }
  if (model.precision === '16-true' && isCpu(config)) {
    problems.push({
      severity: 'error',
      code: 'fp16-on-cpu',
      key: 'model.precision',
      message: 'model.precision 16-true (fp16 compute) is not implemented by the engine; on device cpu use bf16-true or 32-true.',
      data: { replacement: 'bf16-true' },
    });
  } else if (model.precision === '16-true' || (model.precision === '32-true' && isCuda(config))) {
    // the CUDA engine computes in bf16; auto runs fp32 configs on the CPU, fp16 on neither
    problems.push({
      severity: 'error',
      code: 'precision-on-cuda',
      key: 'model.precision',
      message: `model.precision ${model.precision} with device ${config.device}: the CUDA engine computes in bf16 (and no engine has fp16 compute); use bf16-true or bf16-mixed${model.precision === '32-true' ? ', or device cpu for fp32' : ''}.`,
      data: { replacement: 'bf16-true' },
    });
  }
  if (train.state_precision === 'bf16' && train.method === 'full') {
    problems.push({
      severity: 'error',
      code: 'state-precision-with-full',
      key: 'train.state_precision',
      message:
        'train.state_precision bf16 keeps LoRA masters in bf16 and needs train.method lora (full finetuning keeps fp32 masters). Set state_precision: fp32 or method: lora.',
      data: { replacement: 'fp32' },
    });
  }
  const cudaOnlyFp32 =
    train.optimizer === 'adamw8bit' || train.optimizer === 'sgd8bit'
      ? 'train.optimizer'
      : train.state_precision === 'bf16'
        ? 'train.state_precision'
        : null;
  if (cudaOnlyFp32 && isCuda(config)) {
    const value = cudaOnlyFp32 === 'train.optimizer' ? train.optimizer : train.state_precision;
    problems.push({
      severity: 'error',
      code: 'optimizer-state-on-cuda',
      key: cudaOnlyFp32,
      message: `${cudaOnlyFp32} ${value} with device ${config.device}: the CUDA engine does not implement it yet (the CPU engine does); use device cpu or auto (auto runs it on the CPU), or ${cudaOnlyFp32 === 'train.optimizer' ? `optimizer ${train.optimizer.replace('8bit', '')}` : 'state_precision fp32'}.`,
    });
  }
  if (model.precision === 'bf16-mixed' && isCpu(config)) {
    problems.push({
      severity: 'warning',
      code: 'bf16-mixed-on-cpu',
      key: 'model.precision',
      message: 'model.precision bf16-mixed on device cpu runs as bf16-true (no fp32 weight copies are kept on the CPU).',
      data: { replacement: 'bf16-true' },
    });
  }
  if (train.method === 'lora' && LORA_TARGETS.every((target) => !lora[target])) {
    problems.push({
      severity: 'error',
      code: 'no-lora-target',
      key: 'lora',
      message:
        'Every LoRA target (query, key, value, projection, mlp, head) is false with train.method lora: nothing to train. Enable at least one.',
    });
  }
  if (train.method === 'lora' && !sweptKeys.has('lora.alpha') && !sweptKeys.has('lora.r') && lora.alpha !== 2 * lora.r) {
    problems.push({
      severity: 'hint',
      code: 'alpha-not-2r',
      key: 'lora.alpha',
      message: `lora.alpha is ${lora.alpha}, not 2 * lora.r = ${2 * lora.r}: the article found alpha = 2r best.`,
      data: { replacement: 2 * lora.r },
    });
  }
  const extension = /\.([A-Za-z0-9]+)$/.exec(config.data.path)?.[1]?.toLowerCase();
  const formatOfExtension: Record<string, LoraLabConfig['data']['format']> = { json: 'alpaca', jsonl: 'jsonl', csv: 'csv' };
  if (extension && formatOfExtension[extension] && formatOfExtension[extension] !== config.data.format) {
    const expectedFormat = formatOfExtension[extension];
    problems.push({
      severity: 'warning',
      code: 'data-format-mismatch',
      key: 'data.format',
      message: `data.path ends in .${extension} but data.format is ${config.data.format}: the file will be read as ${config.data.format}. Set format: ${expectedFormat} if it is a ${expectedFormat === 'alpaca' ? 'JSON list' : expectedFormat.toUpperCase()} file.`,
      data: { replacement: expectedFormat },
    });
  }
  if (train.max_steps !== null && train.warmup_steps >= train.max_steps) {
    problems.push({
      severity: 'warning',
      code: 'warmup-exceeds-steps',
      key: 'train.warmup_steps',
      message: `train.warmup_steps ${train.warmup_steps} is not below train.max_steps ${train.max_steps}: the learning rate never reaches its peak. Use fewer warmup steps.`,
      data: { replacement: Math.floor(train.max_steps / 10) },
    });
  }
  const lrLimit = LEARNING_RATE_LIMITS[train.optimizer];
  if (lrLimit && train.learning_rate > lrLimit.above) {
    problems.push({
      severity: 'warning',
      code: 'learning-rate-too-high',
      key: 'train.learning_rate',
      message: `train.learning_rate ${train.learning_rate} is above ${lrLimit.above} for ${lrLimit.name}: training is likely to diverge (a non-finite loss within a few steps). ${lrLimit.usual}`,
      data: { replacement: lrLimit.replacement },
    });
  }
  if (train.epochs > 1 && train.max_steps === null) {
    problems.push({
      severity: 'hint',
      code: 'epochs-over-one',
      key: 'train.epochs',
      message: `train.epochs is ${train.epochs}: the article saw more epochs hurt (a second pass over Alpaca made the scores worse).`,
    });
  }
  return problems;
}

/** Model dimensions an adapter can see, from a Hugging Face config.json. */
export interface ModelDimensions {
  hiddenSize: number;
  intermediateSize: number;
  queryOut: number;
  keyValueOut: number;
  vocabSize: number;
}

export function modelDimensions(rawConfigJson: Record<string, unknown>): ModelDimensions | null {
  const configJson = withCanonicalShapeKeys(rawConfigJson);
  const hidden = Number(configJson.hidden_size);
  const heads = Number(configJson.num_attention_heads);
  if (!Number.isInteger(hidden) || !Number.isInteger(heads) || hidden <= 0 || heads <= 0) return null;
  const falcon = configJson.model_type === 'falcon';
  const falconKv =
    configJson.new_decoder_architecture === true ? (configJson.num_kv_heads ?? heads) : configJson.multi_query === false ? heads : 1;
  const kvHeads = Number(falcon ? falconKv : (configJson.num_key_value_heads ?? heads));
  const headDim = Number(configJson.head_dim ?? hidden / heads);
  const fused = (heads + 2 * kvHeads) * headDim; // Falcon: q, k and v are one query_key_value linear
  return {
    hiddenSize: hidden,
    intermediateSize: Number(configJson.intermediate_size ?? configJson.ffn_hidden_size ?? 4 * hidden),
    queryOut: falcon ? fused : heads * headDim,
    keyValueOut: falcon ? fused : kvHeads * headDim,
    vocabSize: Number(configJson.vocab_size ?? Infinity),
  };
}

/** Falcon has one fused query_key_value linear: with only some of lora.query / key / value set, the
 * others are adapted anyway (PEFT's target is the whole fused layer). A hint on the keys that are set. */
export function falconFusedQkvHint(configJson: Record<string, unknown>, lora: LoraLabConfig['lora']): RuleProblem[] {
  const archs = configJson.architectures;
  const falcon = configJson.model_type === 'falcon' || (Array.isArray(archs) && archs[0] === 'FalconForCausalLM');
  const set = (['query', 'key', 'value'] as const).filter((t) => lora[t]);
  if (!falcon || set.length === 0 || set.length === 3) return [];
  const unset = (['query', 'key', 'value'] as const).filter((t) => !lora[t]);
  return set.map((t) => ({
    severity: 'hint' as const,
    code: 'falcon-fused-qkv',
    key: `lora.${t}`,
    message: `lora.${t} on Falcon adapts the fused query_key_value, which also computes ${unset.map((u) => u).join(' and ')}: those get the adapter too (set lora.${unset.join(' and lora.')} true to say so).`,
  }));
}

/** The smallest min(in, out) over the enabled targets, and which target it is. */
export function smallestAdaptedDimension(dims: ModelDimensions, lora: LoraLabConfig['lora']): { size: number; target: string } | null {
  const sizes: Record<(typeof LORA_TARGETS)[number], number> = {
    query: Math.min(dims.hiddenSize, dims.queryOut),
    key: Math.min(dims.hiddenSize, dims.keyValueOut),
    value: Math.min(dims.hiddenSize, dims.keyValueOut),
    projection: Math.min(dims.queryOut, dims.hiddenSize),
    mlp: Math.min(dims.hiddenSize, dims.intermediateSize),
    head: Math.min(dims.hiddenSize, dims.vocabSize),
  };
  let best: { size: number; target: string } | null = null;
  for (const target of LORA_TARGETS) if (lora[target] && (!best || sizes[target] < best.size)) best = { size: sizes[target], target };
  return best;
}

function readJson(fs: FileSystem, path: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(fs.readFile(path)) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** What a checkpoint folder with these entries still lacks for training: safetensors weights, tokenizer.json. */
export function trainingFilesMissing(names: readonly string[]): string[] {
  const missing: string[] = [];
  if (!names.some((name) => name.endsWith('.safetensors') || name === 'model.safetensors.index.json')) missing.push('*.safetensors');
  if (!names.includes('tokenizer.json')) missing.push('tokenizer.json');
  return missing;
}

/**
 * File-system rules. `hub`: the cache state when model.checkpoint is a Hub repo id. `ranks`: every lora.r the file can run with (all sweep variants), so the
 * rank check covers the largest.
 */
export function checkFiles(
  config: LoraLabConfig,
  fs: FileSystem,
  ranks: number[] = [config.lora.r],
  hub: HubCheckpoint | null = null,
): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const checkpoint = config.model.checkpoint;
  const hubData = hub ? { repo: hub.repo, revision: hub.revision } : {};
  if (hub && !hub.snapshot) {
    const id = hubRefText(hub);
    problems.push({
      severity: 'error',
      code: 'checkpoint-not-downloaded',
      key: 'model.checkpoint',
      message: `model.checkpoint ${id}: no such folder (${checkpoint}), and the Hugging Face Hub model ${id} is not in the cache (${hub.repoFolder}) yet: fetch its config.json for the estimate ('lora-lab download ${id} --include config.json' or the quick fix), download the model ('lora-lab download ${id}'), or fix the path.`,
      data: hubData,
    });
  } else if (!fs.exists(checkpoint)) {
    problems.push({
      severity: 'error',
      code: 'checkpoint-missing',
      key: 'model.checkpoint',
      message: `model.checkpoint ${checkpoint} does not exist: download a Hugging Face checkpoint there or fix the path (a Hub repo id such as meta-llama/Llama-2-7b-hf is read from the Hugging Face cache).`,
    });
  } else if (!fs.isDirectory(checkpoint)) {
    problems.push({
      severity: 'error',
      code: 'checkpoint-not-folder',
      key: 'model.checkpoint',
      message: `model.checkpoint ${checkpoint} is a file, not a folder: point it at the Hugging Face checkpoint folder.`,
    });
  } else {
    const names = fs.listDir(checkpoint);
    const hasSafetensors = names.some((name) => name.endsWith('.safetensors') || name === 'model.safetensors.index.json');
    const pickles = names.filter((name) => /\.(bin|pth|pt)$/.test(name));
    if (!hasSafetensors && pickles.length) {
      problems.push({
        severity: 'error',
        code: 'checkpoint-pickle-only',
        key: 'model.checkpoint',
        message: `model.checkpoint ${checkpoint} has only pickle weights (${pickles.slice(0, 3).join(', ')}): pickle checkpoints are not loaded. Convert them to safetensors (e.g. with transformers' save_pretrained(safe_serialization=True)).`,
      });
    }
    if (!names.includes('config.json')) {
      const missing = ['config.json', ...trainingFilesMissing(names)];
      problems.push({
        severity: 'error',
        code: 'checkpoint-incomplete',
        key: 'model.checkpoint',
        message: `model.checkpoint ${checkpoint} lacks ${missing.join(', ')}: a checkpoint folder needs config.json, safetensors weights and tokenizer.json.`,
        data: { missing, ...hubData },
      });
    } else if (!pickles.length && trainingFilesMissing(names).length) {
      const missing = trainingFilesMissing(names);
      const how = hub
        ? `download the model ('lora-lab download ${hubRefText(hub)}' or the quick fix)`
        : 'put them in the folder (or use a Hub repo id and download it)';
      problems.push({
        severity: 'warning',
        code: 'checkpoint-weights-missing',
        key: 'model.checkpoint',
        message: `model.checkpoint ${hub ? hubRefText(hub) : checkpoint} has config.json but lacks ${missing.join(', ')}: the estimate works from config.json${missing.includes('tokenizer.json') ? ' (with data.max_seq_length as the sequence length)' : ''}; training needs them: ${how}.`,
        data: { missing, ...hubData },
      });
    }
    if (names.includes('config.json') && config.train.method === 'lora') {
      const json = readJson(fs, joinPath(checkpoint, 'config.json'));
      const dims = json && modelDimensions(json);
      if (!dims) {
        problems.push({
          severity: 'error',
          code: 'checkpoint-config-unreadable',
          key: 'model.checkpoint',
          message: `${joinPath(checkpoint, 'config.json')} is not a readable model config (needs hidden_size and num_attention_heads).`,
        });
      } else {
        const smallest = smallestAdaptedDimension(dims, config.lora);
        const rank = Math.max(...ranks);
        if (smallest && rank > smallest.size) {
          problems.push({
            severity: 'error',
            code: 'rank-exceeds-dimension',
            key: 'lora.r',
            message: `lora.r ${rank} is larger than the smallest adapted dimension (${smallest.size}, of the ${smallest.target} layers): use r <= ${smallest.size}.`,
            data: { max: smallest.size },
          });
        }
        problems.push(...falconFusedQkvHint(json, config.lora));
      }
    }
  }
  if (!fs.exists(config.data.path) || fs.isDirectory(config.data.path)) {
    problems.push({
      severity: 'error',
      code: 'data-path-missing',
      key: 'data.path',
      message: `data.path ${config.data.path} ${fs.exists(config.data.path) ? 'is a folder, not a file' : 'does not exist'}: point it at the ${config.data.format} dataset file.`,
    });
  }
  return problems;
}
