// `lora-lab merge --checkpoint DIR --adapter DIR --out DIR`: a Hugging Face folder with the adapter
// merged into the base weights (fp32 merge from the original weights, original dtype, HF sharding).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadAddon } from '../addon';
import { takeOptions, UsageError } from './args';
import { baseShapeProblems } from './base-shapes';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export const mergeCommand: CliCommand = {
  name: 'merge',
  summary: 'Merge a LoRA adapter into its base checkpoint (Hugging Face folder)',
  usage: 'lora-lab merge --checkpoint DIR --adapter DIR --out DIR [--max-shard-bytes N]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    let checkpoint: string, adapter: string, target: string, maxShard: number;
    try {
      const { values, positional } = takeOptions(args, ['--checkpoint', '--adapter', '--out', '--max-shard-bytes']);
      if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
      for (const key of ['--checkpoint', '--adapter', '--out']) if (!values[key]) throw new UsageError(`${key} DIR is required`);
      checkpoint = resolve(values['--checkpoint']);
      adapter = resolve(values['--adapter']);
      target = resolve(values['--out']);
      maxShard = values['--max-shard-bytes'] ? Number(values['--max-shard-bytes']) : 5_000_000_000;
      if (!Number.isFinite(maxShard) || maxShard < 1) throw new UsageError('--max-shard-bytes needs a positive number');
      if (!existsSync(join(adapter, 'adapter_config.json')))
        throw new UsageError(`${adapter}: no adapter_config.json (expected a PEFT adapter folder, e.g. <run>/adapter)`);
      if (!existsSync(join(checkpoint, 'config.json')))
        throw new UsageError(`${checkpoint}: no config.json (expected a Hugging Face checkpoint folder)`);
      const problems = baseShapeProblems(checkpoint);
      if (problems.length) {
        out.stderr(
          `lora-lab merge: the base checkpoint contradicts itself, nothing was written:\n${problems.map((p) => `  ${p}\n`).join('')}` +
            `Fix config.json or point --checkpoint at the checkpoint the adapter was trained on.\n`,
        );
        return EXIT_FAILURE;
      }
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`lora-lab merge: ${error.message}\nUsage: ${this.usage}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const started = Date.now();
    await loadAddon().mergeAdapter(checkpoint, adapter, target, maxShard);
    out.stdout(`merged ${adapter} into ${checkpoint} -> ${target} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return EXIT_OK;
  },
};
