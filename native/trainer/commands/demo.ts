// `lora-lab demo [--quick]`: trains the bundled examples (LoRA defaults vs QLoRA nf4) and prints
// the comparison table and answers before/after finetuning (see demo/demo.ts).
import { join } from 'node:path';
import { runDemo } from '../demo/demo';
import { takeOptions, UsageError } from './args';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'Train the bundled tiny model with LoRA and QLoRA and compare',
  usage: 'lora-lab demo [--quick] [--examples DIR]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    let examplesDir: string;
    let quick: boolean;
    try {
      const { values, flags, positional } = takeOptions(args, ['--examples'], ['--quick']);
      if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
      examplesDir = values['--examples'] ?? join(__dirname, '..', 'examples');
      quick = flags.has('--quick');
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`lora-lab demo: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const started = Date.now();
    const result = await runDemo({ examplesDir, quick, log: (line) => out.stdout(line + '\n') });
    out.stdout(
      '\n' +
        result.markdown +
        `\ndemo finished in ${((Date.now() - started) / 1000).toFixed(0)} s; table written to ${join(examplesDir, 'demo-results')}\n`,
    );
    return result.failed ? EXIT_FAILURE : EXIT_OK;
  },
};
