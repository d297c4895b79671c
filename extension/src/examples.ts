// Copies the bundled example (configs, the tiny model, sample data) from the extension folder into
// a workspace folder, never overwriting a file that is already there.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ExamplePlan {
  /** [source, destination] pairs: top-level files and folders of examples/. */
  copies: [string, string][];
  /** Destinations that exist already and are left alone. */
  existing: string[];
  /** The config to open afterwards. */
  config: string;
}

/** The bundled tiny base model (a Hugging Face folder) every example config trains. */
export const EXAMPLE_MODEL = 'tiny-llama';

/** What to copy from `examplesDir` into `targetDir`; throws with a clear message when the bundle is incomplete. */
export function planExampleCopy(examplesDir: string, targetDir: string): ExamplePlan {
  let names: string[];
  try {
    names = fs.readdirSync(examplesDir).sort();
  } catch {
    throw new Error(`the extension has no examples folder (${examplesDir}); reinstall LoRA Lab.`);
  }
  const configs = names.filter((n) => /\.lora\.ya?ml$/i.test(n));
  if (configs.length === 0) throw new Error(`the extension's examples folder has no *.lora.yaml config (${examplesDir}).`);
  if (!fs.existsSync(path.join(examplesDir, EXAMPLE_MODEL, 'config.json'))) {
    throw new Error(
      `the bundled tiny model is missing (${path.join(examplesDir, EXAMPLE_MODEL)} has no config.json), so the example could not train; reinstall LoRA Lab.`,
    );
  }
  const wanted = [...configs, EXAMPLE_MODEL, ...(names.includes('data') ? ['data'] : [])];
  const copies: [string, string][] = [];
  const existing: string[] = [];
  for (const name of wanted) {
    const destination = path.join(targetDir, name);
    if (fs.existsSync(destination)) existing.push(destination);
    else copies.push([path.join(examplesDir, name), destination]);
  }
  return { copies, existing, config: path.join(targetDir, configs[0]) };
}

/** Performs the copies of a plan (recursive for folders; never overwrites). */
export function copyExample(plan: ExamplePlan): void {
  for (const [source, destination] of plan.copies) {
    fs.cpSync(source, destination, { recursive: true, force: false, errorOnExist: false });
  }
}
