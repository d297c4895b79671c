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

export interface ModePlan {
  sections: readonly DemoSection[];
  /** `--set` overrides applied to every run of the mode. */
  sets: string[];
  /** Seeds per key row (the defaults, all layers): 1, or 3 for mean and spread. */
  seeds: number;
  /** Whether the lm-eval tasks are scored on the base and the best row. */
  lmEval: boolean;
}

/** What each mode runs: --quick the defaults and all layers, shorter; --full 3 seeds of the key rows. */
export function modePlan(mode: DemoMode): ModePlan {
  if (mode === 'quick')
    return {
      sections: SECTIONS.filter((s) => s.key === 'lora-defaults' || s.key === 'all-layers'),
      sets: ['train.epochs=6', 'eval.limit=60'],
      seeds: 1,
      lmEval: false,
    };
  if (mode === 'full') return { sections: SECTIONS, sets: [], seeds: 3, lmEval: true };
  return { sections: SECTIONS, sets: [], seeds: 1, lmEval: true };
}

/** Configs whose rows get extra seeds in --full (the rows the observations lean on). */
export const KEY_CONFIGS = [DEFAULTS_CONFIG, 'all-layers.lora.yaml'];
