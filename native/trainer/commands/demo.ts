// `lora-lab demo [--quick | --full]`: the reference article's grid on the bundled tiny model
// (examples/article/), printed as the article's sections with cost and scores (see demo/demo.ts).
import { join, resolve } from 'node:path';
import { runDemo } from '../demo/demo';
import type { DemoMode } from '../demo/grid';
import { takeOptions, UsageError } from './args';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: "Run the reference article's LoRA / QLoRA grid on the bundled tiny model, with evaluation",
  usage: 'lora-lab demo [--quick | --full] [--examples DIR]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    let examplesDir: string;
    let mode: DemoMode;
    try {
      const { values, flags, positional } = takeOptions(args, ['--examples'], ['--quick', '--full']);
      if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
      if (flags.has('--quick') && flags.has('--full')) throw new UsageError('give --quick or --full, not both');
      examplesDir = resolve(values['--examples'] ?? join(__dirname, '..', 'examples'));
      mode = flags.has('--quick') ? 'quick' : flags.has('--full') ? 'full' : 'default';
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`lora-lab demo: ${error.message}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const started = Date.now();
    const result = await runDemo({ examplesDir, mode, log: (line) => out.stdout(line + '\n') });
    out.stdout(
      '\n' +
        result.markdown +
        `\ndemo finished in ${((Date.now() - started) / 1000).toFixed(0)} s (${result.result.cpuS.toFixed(0)} CPU-seconds); tables written to ${join(examplesDir, 'demo-results')}\n`,
    );
    return result.failed ? EXIT_FAILURE : EXIT_OK;
  },
};
