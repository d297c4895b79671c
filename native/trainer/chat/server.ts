// The chat child's loop (`lora-lab chat-serve`): loads one base model once (fp32 on the CPU, the
// settings of `lora-lab generate`), then serves generate requests one at a time in order: the
// adapter of a request is loaded when it differs from the installed one and switched on, a null
// adapter switches it off (the base model over the same weights), tokens stream back as text.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, type TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { formatBytes } from '../../../language-server/src/lib/format';
import { loadAddon, type NativeEngine, type NativeError } from '../addon';
import type { ChatEndReason, ChatToHost, HostToChat } from '../chat-protocol';
import { StreamDecoder } from '../data/stream-decoder';
import { configWith, engineOptions } from '../run/engine-options';
import { renderChatPrompt, StopStringFilter } from './prompt';

type GenerateRequest = Extract<HostToChat, { type: 'generate' }>;

export interface ChatChannel {
  send(message: ChatToHost): void;
}

/** Bytes the checkpoint's weights take in fp32 (bf16/f16 tensors double), from the safetensors headers. */
export function fp32WeightBytes(checkpoint: string): number {
  let total = 0;
  for (const name of readdirSync(checkpoint).filter((n) => n.endsWith('.safetensors'))) {
    const path = join(checkpoint, name);
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(8);
      readSync(fd, head, 0, 8, 0);
      const length = Number(head.readBigUInt64LE(0));
      if (length <= 0 || length > 100_000_000) throw new Error(`${path}: not a safetensors file (header length ${length})`);
      const header = Buffer.alloc(length);
      readSync(fd, header, 0, length, 8);
      const entries = JSON.parse(header.toString('utf8')) as Record<string, { dtype?: string; data_offsets?: [number, number] }>;
      for (const [key, entry] of Object.entries(entries)) {
        if (key === '__metadata__' || !entry.data_offsets) continue;
        const bytes = entry.data_offsets[1] - entry.data_offsets[0];
        total += entry.dtype === 'F32' ? bytes : entry.dtype === 'BF16' || entry.dtype === 'F16' ? bytes * 2 : bytes * 4;
      }
    } finally {
      closeSync(fd);
    }
  }
  return total;
}

/** Why the model cannot be loaded for chat on this machine (null when it fits). */
export function memoryRefusal(checkpoint: string, available = freemem()): string | null {
  const need = fp32WeightBytes(checkpoint);
  if (need <= available) return null;
  return `The model in ${checkpoint} needs about ${formatBytes(need)} for its weights in fp32 (chat runs on the CPU, like \`lora-lab generate\`), but only ${formatBytes(available)} of memory is free. Close other programs or runs, or chat with a smaller model.`;
}

export class ChatServer {
  private readonly queue: GenerateRequest[] = [];
  private current: { id: string; stopped: boolean } | null = null;
  private installedAdapter: string | null = null;
  private busy = false;
  private closed = false;

  private constructor(
    private readonly engine: NativeEngine,
    private readonly tokenizer: TextTokenizer,
    private readonly channel: ChatChannel,
  ) {}

  /** Loads the model and sends 'ready', or sends 'load-failed' and returns null. */
  static async start(checkpoint: string, channel: ChatChannel, available = freemem()): Promise<ChatServer | null> {
    const started = Date.now();
    try {
      if (!existsSync(join(checkpoint, 'config.json')) || !statSync(checkpoint).isDirectory()) {
        channel.send({ type: 'load-failed', code: 'E_CHECKPOINT', message: `${checkpoint} is not a model folder (no config.json).` });
        return null;
      }
      const refusal = memoryRefusal(checkpoint, available);
      if (refusal) {
        channel.send({ type: 'load-failed', code: 'E_NO_MEMORY', message: refusal });
        return null;
      }
      const tokenizer = loadTokenizer(checkpoint);
      // LoRA mode with a fresh adapter (B = 0) until a request brings one; the adapter's own r,
      // alpha and targets replace these when loadAdapter installs it.
      const config = configWith({ 'model.precision': '32-true', 'train.method': 'lora', device: 'cpu' });
      const engine = await loadAddon().loadEngine(checkpoint, engineOptions(config, 1, false));
      engine.setAdapterEnabled(false);
      channel.send({
        type: 'ready',
        checkpoint,
        device: engine.deviceName(),
        hasChatTemplate: tokenizer.chatTemplate !== null,
        loadSeconds: (Date.now() - started) / 1000,
      });
      return new ChatServer(engine, tokenizer, channel);
    } catch (error) {
      const e = error as NativeError;
      const code = typeof e.code === 'string' ? e.code : 'E_LOAD';
      const tooBig = /E_OOM|E_NO_MEMORY|ENOMEM/.test(code) || /out of memory|bad_alloc/i.test(e.message ?? '');
      channel.send({
        type: 'load-failed',
        code: tooBig ? 'E_NO_MEMORY' : code,
        message: tooBig
          ? `The model in ${checkpoint} does not fit in memory: ${e.message}`
          : `Loading ${checkpoint} failed: ${e.message ?? String(error)}`,
      });
      return null;
    }
  }

  /** Handles one message from the host; resolves when the queue it started has drained. */
  async receive(message: HostToChat): Promise<void> {
    if (this.closed) return;
    if (message.type === 'shutdown') {
      this.close();
      return;
    }
    if (message.type === 'stop') {
      const queued = this.queue.findIndex((r) => r.id === message.id);
      if (queued >= 0) {
        this.queue.splice(queued, 1);
        this.channel.send({ type: 'done', id: message.id, text: '', tokens: 0, seconds: 0, tokensPerSecond: 0, reason: 'stopped' });
      } else if (this.current?.id === message.id) {
        this.current.stopped = true;
        this.engine.abort();
      }
      return;
    }
    this.queue.push(message);
    await this.drain();
  }

  /** Frees the model (after the generation in flight, if any, ends). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    if (this.busy) this.engine.abort();
    else this.engine.dispose();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let request = this.queue.shift(); request && !this.closed; request = this.queue.shift()) await this.generate(request);
    } finally {
      this.busy = false;
      if (this.closed) this.engine.dispose();
    }
  }

  private async generate(request: GenerateRequest): Promise<void> {
    const { id, sampling } = request;
    const current = { id, stopped: false };
    this.current = current;
    try {
      if (request.adapter !== null && request.adapter !== this.installedAdapter) {
        if (!existsSync(join(request.adapter, 'adapter_config.json')))
          throw Object.assign(new Error(`${request.adapter}: no adapter_config.json (expected a PEFT adapter folder)`), {
            code: 'E_ADAPTER',
          });
        this.installedAdapter = null;
        await this.engine.loadAdapter(request.adapter);
        this.installedAdapter = request.adapter;
      }
      this.engine.setAdapterEnabled(request.adapter !== null);
      const prompt = renderChatPrompt(request.turns, request.format, this.tokenizer);
      const ids = this.tokenizer.encode(prompt.text, { bos: prompt.addBos });
      this.channel.send({ type: 'prompt', id, text: prompt.text, tokens: ids.length });
      const decoder = new StreamDecoder(this.tokenizer, { skipSpecialTokens: true }, ids);
      const filter = new StopStringFilter(sampling.stop);
      const stopIds = this.tokenizer.stopIds;
      let tokens = 0;
      let lastId = -1;
      const started = Date.now();
      let reason: ChatEndReason = 'max-tokens';
      try {
        await this.engine.generate(
          Int32Array.from(ids),
          {
            maxNewTokens: sampling.maxNewTokens,
            temperature: sampling.temperature,
            topP: sampling.topP,
            seed: sampling.seed,
            stopTokens: stopIds,
          },
          (tokenId) => {
            tokens++;
            lastId = tokenId;
            // an abort() that came before the engine's worker began the call is reset by it: repeat it
            if (current.stopped) return this.engine.abort();
            if (stopIds.includes(tokenId) || filter.stopped) return;
            const text = filter.push(decoder.push(tokenId));
            if (text) this.channel.send({ type: 'token', id, text });
            if (filter.stopped) this.engine.abort();
          },
        );
        if (stopIds.includes(lastId)) reason = 'stop-token';
        if (current.stopped) reason = 'stopped';
      } catch (error) {
        if ((error as NativeError).code !== 'E_ABORTED') throw error;
        reason = filter.stopped ? 'stop-string' : 'stopped';
      }
      if (!filter.stopped && !current.stopped) {
        const tail = filter.push(decoder.flush());
        const rest = filter.stopped ? '' : filter.flush();
        if (tail + rest) this.channel.send({ type: 'token', id, text: tail + rest });
      }
      // tokens stream to this thread after the engine made them: it may have ended on its own
      // before the abort of a stop string reached it
      if (filter.stopped) reason = 'stop-string';
      const seconds = (Date.now() - started) / 1000;
      this.channel.send({
        type: 'done',
        id,
        text: filter.text,
        tokens,
        seconds,
        tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
        reason,
      });
    } catch (error) {
      const e = error as NativeError;
      this.channel.send({
        type: 'error',
        id,
        code: typeof e.code === 'string' ? e.code : 'E_GENERATE',
        message: e.message ?? String(error),
      });
    } finally {
      this.current = null;
    }
  }
}
