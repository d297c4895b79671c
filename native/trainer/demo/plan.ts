// The demo's runs in order: each section's config under examples/article/ expanded into its runs
// (sweep variants, the key rows' seeds in --full), lengthened by the mode's epoch scale (grid.ts),
// each with a label for the tables and a cost weight for the progress line's ETA.
import { join } from 'node:path';
import { planRuns } from '../commands/train';
import type { RunPlan } from '../run/trainer';
import { DEFAULTS_CONFIG, KEY_CONFIGS, modePlan, type DemoMode } from './grid';
import { settingsLabel } from './report';

export interface PlannedRun {
  plan: RunPlan;
  /** The config, relative to the examples folder ('article/qlora.lora.yaml'). */
  config: string;
  label: string;
  /** The seed of one of a key row's runs in --full (train.seed), null where the row has one run. */
  seed: number | null;
  /** Relative cost for the ETA: epochs, x1.5 for a 4-bit base (dequantized on every step: 1.3-1.7x the time in the grid's runs). */
  weight: number;
}

/** The row label of a run: the LoRA defaults, the config's name, or the name with the variant's sweep values. */
export function variantLabel(configFile: string, plan: RunPlan): string {
  const name = configFile.replace(/\.lora\.yaml$/, '');
  const settings = settingsLabel(plan.sweep?.overrides ?? {});
  return settings ? `${name} (${settings})` : name === 'lora-defaults' ? 'LoRA defaults' : name;
}

/**
 * The run `scale` times as long: train.epochs multiplied (rounded, at least 1), recorded where the
 * run folder says where its epochs came from: the sweep variant's values when the sweep varies
 * train.epochs (the epochs section then compares 24 vs 48 instead of 12 vs 24), else an override
 * as `--set train.epochs=N` records it.
 */
export function lengthened(plan: RunPlan, scale: number): RunPlan {
  if (scale === 1) return plan;
  const epochs = Math.max(1, Math.round(plan.config.train.epochs * scale));
  const config = { ...plan.config, train: { ...plan.config.train, epochs } };
  if (plan.sweep && 'train.epochs' in plan.sweep.overrides)
    return { ...plan, config, sweep: { ...plan.sweep, overrides: { ...plan.sweep.overrides, 'train.epochs': epochs } } };
  return { ...plan, config, overrides: { ...plan.overrides, 'train.epochs': epochs } };
}

/** Every run of the mode, the LoRA defaults first (every section's reference row), then the sections' configs in order. */
export function planDemo(examplesDir: string, mode: DemoMode, started: Date): PlannedRun[] {
  const plan = modePlan(mode);
  const article = join(examplesDir, 'article');
  const files = [DEFAULTS_CONFIG, ...plan.sections.flatMap((s) => s.configs).filter((c) => c !== DEFAULTS_CONFIG)];
  const planned: PlannedRun[] = [];
  for (const file of files) {
    const seeds = plan.seeds > 1 && KEY_CONFIGS.includes(file) ? plan.seeds : 1;
    for (let seed = 1; seed <= seeds; seed++) {
      const sets = [...plan.sets, ...(seeds > 1 ? [`train.seed=${seed}`, `name=${file.replace(/\.lora\.yaml$/, '')}-seed${seed}`] : [])];
      for (const p of planRuns({ config: join(article, file), json: false, ipc: false, sets, variant: null }, started)) {
        const run = lengthened(p, plan.epochScale);
        const weight = run.config.train.epochs * (run.config.model.quantize === 'none' ? 1 : 1.5);
        planned.push({ plan: run, config: `article/${file}`, label: variantLabel(file, run), seed: seeds > 1 ? seed : null, weight });
      }
    }
  }
  return planned;
}
