// The reference article's Llama-2-7B runs (Lit-GPT on one A100) with their measured peak memory, and
// this estimator's numbers for the same settings on LoRA Lab's engine, for a side-by-side display.
import { resolveConfig } from '../config/resolve';
import type { LoraLabConfig } from '../config/types';
import { estimate, type Estimate } from './index';
import { LLAMA2_7B_CONFIG } from './model-shape';

export interface ArticleRun {
  name: string;
  /** Config keys over LoRA Lab's defaults (which are the article's defaults). */
  sets: Record<string, unknown>;
  /** The article's "Memory used" (torch.cuda.max_memory_allocated() / 1e9). */
  articleGigabytes: number;
}

const ALL_LAYERS = { 'lora.key': true, 'lora.projection': true, 'lora.mlp': true, 'lora.head': true };

export const ARTICLE_RUNS: readonly ArticleRun[] = [
  { name: 'LoRA bf16-true, r=8, alpha=16, query+value', sets: {}, articleGigabytes: 21.33 },
  { name: 'QLoRA bnb.nf4, r=8, alpha=16, query+value', sets: { 'model.quantize': 'bnb.nf4' }, articleGigabytes: 14.18 },
  { name: 'r=256, alpha=512, all layers + head', sets: { 'lora.r': 256, 'lora.alpha': 512, ...ALL_LAYERS }, articleGigabytes: 19.24 },
  // the same run with the trainable state of issue 30 (CPU engine today; the CUDA layout they will have)
  {
    name: 'r=256 all layers, state_precision bf16',
    sets: { 'lora.r': 256, 'lora.alpha': 512, ...ALL_LAYERS, 'train.state_precision': 'bf16' },
    articleGigabytes: 19.24,
  },
  {
    name: 'r=256 all layers, adamw8bit',
    sets: { 'lora.r': 256, 'lora.alpha': 512, ...ALL_LAYERS, 'train.optimizer': 'adamw8bit' },
    articleGigabytes: 19.24,
  },
  {
    name: 'r=256 all layers, adamw8bit + bf16 state',
    sets: { 'lora.r': 256, 'lora.alpha': 512, ...ALL_LAYERS, 'train.optimizer': 'adamw8bit', 'train.state_precision': 'bf16' },
    articleGigabytes: 19.24,
  },
];

export interface ArticleComparison {
  run: ArticleRun;
  config: LoraLabConfig;
  estimate: Estimate;
  /** estimate - article, in bytes of the device view (engine buffers + runtime). */
  differenceBytes: number;
}

/** Estimates the article's runs at micro-batch 1 and the config's max_seq_length (512 unless given). */
export function articleComparisons(options: { device: 'cpu' | 'cuda'; maxSeqLength?: number }): ArticleComparison[] {
  return ARTICLE_RUNS.map((run) => {
    const sets = new Map<string, unknown>(
      Object.entries({
        ...run.sets,
        'train.micro_batch_size': 1,
        ...(options.maxSeqLength ? { 'data.max_seq_length': options.maxSeqLength } : {}),
      }),
    );
    const config = resolveConfig(sets, '/reference/llama-2-7b.lora.yaml');
    const result = estimate(config, LLAMA2_7B_CONFIG, { device: options.device });
    return { run, config, estimate: result, differenceBytes: result.memory.processPeakBytes - run.articleGigabytes * 1e9 };
  });
}
