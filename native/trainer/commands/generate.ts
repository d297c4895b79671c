// `lora-lab generate --checkpoint DIR [--adapter DIR] --prompt TEXT`: streams generated text to
// stdout, never splitting a UTF-8 character.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadAddon } from '../addon';
import { StreamDecoder } from '../data/stream-decoder';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { numberOption, takeOptions, UsageError } from './args';
import { EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';
import { configWith, engineOptions } from '../run/engine-options';

/** The model's context length from config.json (max_position_embeddings), if it says. */
function modelContext(checkpoint: string): number | undefined {
  try {
    const n = (JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')) as { max_position_embeddings?: unknown })
      .max_position_embeddings;
    return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export const generateCommand: CliCommand = {
  name: 'generate',
  summary: 'Generate text from a checkpoint (and adapter), streamed',
  usage:
    'lora-lab generate --checkpoint DIR [--adapter DIR] --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-p P] [--seed S] [--chat]',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    let checkpoint: string,
      adapter: string | undefined,
      prompt: string,
      maxNewTokens: number,
      temperature: number,
      topP: number,
      seed: number,
      chat: boolean;
    try {
      const { values, flags, positional } = takeOptions(
        args,
        ['--checkpoint', '--adapter', '--prompt', '--max-new-tokens', '--temperature', '--top-p', '--seed'],
        ['--chat'],
      );
      if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
      if (!values['--checkpoint']) throw new UsageError('--checkpoint DIR is required');
      if (values['--prompt'] === undefined) throw new UsageError('--prompt TEXT is required');
      checkpoint = resolve(values['--checkpoint']);
      adapter = values['--adapter'] ? resolve(values['--adapter']) : undefined;
      if (adapter && !existsSync(join(adapter, 'adapter_config.json')))
        throw new UsageError(`${adapter}: no adapter_config.json (expected a PEFT adapter folder)`);
      prompt = values['--prompt'];
      maxNewTokens = numberOption(values, '--max-new-tokens', 128, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
      temperature = numberOption(values, '--temperature', 0, (n) => n >= 0, 'a number >= 0');
      topP = numberOption(values, '--top-p', 1, (n) => n > 0 && n <= 1, 'a number in (0, 1]');
      seed = numberOption(values, '--seed', 0, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
      chat = flags.has('--chat');
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`lora-lab generate: ${error.message}\nUsage: ${this.usage}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const tokenizer = loadTokenizer(checkpoint);
    let method: 'lora' | 'full' = 'full';
    let adapterConfig: { r?: number; lora_alpha?: number } = {};
    if (adapter) {
      method = 'lora';
      adapterConfig = JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8'));
    }
    // the adapter's own r and alpha replace these when loadAdapter installs it
    const config = configWith({
      'model.precision': '32-true',
      'train.method': method,
      device: 'cpu',
      ...(typeof adapterConfig.r === 'number' ? { 'lora.r': adapterConfig.r } : {}),
      ...(typeof adapterConfig.lora_alpha === 'number' ? { 'lora.alpha': adapterConfig.lora_alpha } : {}),
    });
    const engine = await loadAddon().loadEngine(checkpoint, engineOptions(config, 1, false));
    try {
      if (adapter) await engine.loadAdapter(adapter);
      const text = chat ? tokenizer.renderChat([{ role: 'user', content: prompt }], true) : prompt;
      const ids = tokenizer.encode(text, { bos: chat ? false : tokenizer.addBos });
      const context = modelContext(checkpoint);
      if (context !== undefined && ids.length + maxNewTokens > context) {
        out.stderr(
          `lora-lab generate: --max-new-tokens ${maxNewTokens}: the prompt (${ids.length} tokens) plus the new tokens must fit the model's context of ${context} tokens ` +
            `(max_position_embeddings in ${join(checkpoint, 'config.json')}); use --max-new-tokens ${Math.max(1, context - ids.length)} or less\n`,
        );
        return EXIT_USAGE;
      }
      const decoder = new StreamDecoder(tokenizer, { skipSpecialTokens: true }, ids);
      await engine.generate(Int32Array.from(ids), { maxNewTokens, temperature, topP, seed, stopTokens: tokenizer.stopIds }, (id) => {
        if (tokenizer.stopIds.includes(id)) return;
        out.stdout(decoder.push(id));
      });
      out.stdout(decoder.flush() + '\n');
    } finally {
      engine.dispose();
    }
    return EXIT_OK;
  },
};
