// `lora-lab chat-serve --checkpoint DIR`: the chat child the extension forks (one per base model),
// speaking native/trainer/chat-protocol.ts over IPC; it exits on 'shutdown' or when the host goes.
import { resolve } from 'node:path';
import { isHostToChat, type ChatToHost } from '../chat-protocol';
import { ChatServer } from '../chat/server';
import { takeOptions, UsageError } from './args';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliCommand, type CliOutput } from './types';

export const chatServeCommand: CliCommand = {
  name: 'chat-serve',
  summary: 'Serve chat generations over IPC for the extension (one base model per process)',
  usage: 'lora-lab chat-serve --checkpoint DIR   (forked by the extension with an IPC channel)',
  available: true,
  async run(args: string[], out: CliOutput): Promise<number> {
    let checkpoint: string;
    try {
      const { values, positional } = takeOptions(args, ['--checkpoint']);
      if (positional.length) throw new UsageError(`unexpected argument '${positional[0]}'`);
      if (!values['--checkpoint']) throw new UsageError('--checkpoint DIR is required');
      if (typeof process.send !== 'function')
        throw new UsageError('needs an IPC channel: the extension forks it (for a terminal use `lora-lab generate --chat`)');
      checkpoint = resolve(values['--checkpoint']);
    } catch (error) {
      if (error instanceof UsageError) {
        out.stderr(`lora-lab chat-serve: ${error.message}\nUsage: ${this.usage}\n`);
        return EXIT_USAGE;
      }
      throw error;
    }
    const send = (message: ChatToHost) => {
      if (process.connected) process.send!(message);
    };
    const server = await ChatServer.start(checkpoint, { send });
    if (!server) {
      process.disconnect?.();
      return EXIT_FAILURE;
    }
    await new Promise<void>((done) => {
      const finish = () => {
        process.off('message', onMessage);
        process.off('disconnect', finish);
        server.close();
        done();
      };
      const onMessage = (message: unknown) => {
        if (!isHostToChat(message)) {
          out.stderr(`lora-lab chat-serve: ignored an unknown message ${JSON.stringify(message)?.slice(0, 200)}\n`);
          return;
        }
        if (message.type === 'shutdown') finish();
        else void server.receive(message);
      };
      process.on('message', onMessage);
      process.on('disconnect', finish);
    });
    if (process.connected) process.disconnect?.();
    return EXIT_OK;
  },
};
