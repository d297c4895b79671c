// The demo's grid: the reference article's sections in its order, each one config under
// examples/article/ (a one-factor change of the LoRA defaults, a sweep where a section compares
// several values), and what --quick, the default and --full run of it.

export type DemoMode = 'quick' | 'default' | 'full';

export interface DemoSection {
  /** Key in the JSON output. */
  key: string;
  /** The article's section name, the table's heading. */
  title: string;
  /** Config files under examples/article/, each a run or a sweep of runs. */
  configs: string[];
}

export const SECTIONS: readonly DemoSection[] = [
  { key: 'lora-defaults', title: 'LoRA defaults', configs: ['lora-defaults.lora.yaml'] },
  { key: 'qlora', title: 'QLoRA', configs: ['qlora.lora.yaml'] },
  { key: 'optimizers', title: 'optimizers and schedulers', configs: ['optimizers.lora.yaml'] },
  { key: 'epochs', title: 'epochs', configs: ['epochs.lora.yaml'] },
  { key: 'all-layers', title: 'all layers', configs: ['all-layers.lora.yaml'] },
  { key: 'r-alpha', title: 'r and alpha', configs: ['r-alpha.lora.yaml', 'large-r-qlora.lora.yaml'] },
];

/** The reference row of every section: the LoRA defaults run. */
export const DEFAULTS_CONFIG = 'lora-defaults.lora.yaml';

/** The custom task of the examples (examples/article/heldout_instructions.task.yaml) and its column heading. */
export const HELDOUT_TASK = 'heldout_instructions';
export const HELDOUT_HEADER = 'held-out instructions';
/** 2-digit arithmetic in the article's (lm-eval's) format. */
export const ARITHMETIC_TASK = 'arithmetic_2ds';
/** The article's other lm-eval tasks: scored on the base row and the best row only. */
export const LM_EVAL_TASKS = ['truthfulqa_mc1', 'truthfulqa_mc2', 'blimp_causative', 'mmlu_global_facts'];
export const LM_EVAL_LIMIT = 200;

/** Configs whose rows get extra seeds in --full (the rows the observations lean on). */
export const KEY_CONFIGS = [DEFAULTS_CONFIG, 'all-layers.lora.yaml'];

export interface ModePlan {
  sections: readonly DemoSection[];
  /** `--set` overrides applied to every run of the mode. */
  sets: string[];
  /**
   * Multiplier of every config's train.epochs (a sweep's train.epochs values included, so the
   * epochs section keeps its 1 : 2 ratio): 0.5 for --quick, 1 for the default, 2 for --full.
   */
  epochScale: number;
  /** Seeds per key row (KEY_CONFIGS): 1, or 3 for mean and spread. */
  seeds: number;
  /** Whether the lm-eval tasks are scored on the base and the best row. */
  lmEval: boolean;
}

/**
 * What each mode runs: --quick the defaults and all layers at half the epochs on 60 items per
 * task (under a minute); the default the whole grid as configured (under 5 minutes on 2 cores);
 * --full the whole grid at twice the epochs with 3 seeds of the key rows (under 20 minutes).
 */
export function modePlan(mode: DemoMode): ModePlan {
  if (mode === 'quick')
    return {
      sections: SECTIONS.filter((s) => s.key === 'lora-defaults' || s.key === 'all-layers'),
      sets: ['eval.limit=60'],
      epochScale: 0.5,
      seeds: 1,
      lmEval: false,
    };
  if (mode === 'full') return { sections: SECTIONS, sets: [], epochScale: 2, seeds: 3, lmEval: true };
  return { sections: SECTIONS, sets: [], epochScale: 1, seeds: 1, lmEval: true };
}

/** The mode's plan in words, for the tables' header. */
export function describePlan(plan: ModePlan): string {
  const parts = [`${plan.sections.length} article sections`];
  if (plan.epochScale !== 1) parts.push(`every config's train.epochs x${plan.epochScale}`);
  if (plan.sets.length) parts.push(plan.sets.map((s) => `--set ${s}`).join(', '));
  if (plan.seeds > 1)
    parts.push(
      `${plan.seeds} seeds (train.seed 1-${plan.seeds}) of ${KEY_CONFIGS.map((c) => c.replace(/\.lora\.yaml$/, '')).join(' and ')}, shown as mean ± sample standard deviation`,
    );
  parts.push(plan.lmEval ? `lm-eval tasks (limit ${LM_EVAL_LIMIT}) on the base and the best row` : 'no lm-eval tasks');
  return parts.join('; ');
}
