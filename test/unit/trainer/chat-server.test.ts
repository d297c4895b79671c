// The chat child's server on the bundled tiny model: base and finetune answers over one loaded
// model (the adapter switched off and on) equal `lora-lab generate` with the same prompt and greedy
// settings, the rendered prompt is reported, a generation stops on request and at a stop string,
// and a model that does not fit in memory is refused with a clear message.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { loadAddon } from '../../../native/trainer/addon';
import type { ChatSampling, ChatToHost } from '../../../native/trainer/chat-protocol';
import { ChatServer, memoryRefusal } from '../../../native/trainer/chat/server';
import { configWith, engineOptions } from '../../../native/trainer/run/engine-options';
import { runCli } from '../helpers/run-cli';

const MODEL = resolve(__dirname, '../../../examples/tiny-llama');
const dir = mkdtempSync(join(tmpdir(), 'lora-lab-chat-server-'));
const adapterDir = join(dir, 'adapter');
after(() => rmSync(dir, { recursive: true, force: true }));
const GREEDY: ChatSampling = { temperature: 0, topP: 1, maxNewTokens: 24, seed: 0, stop: [] };
const PROMPT = 'Name three colours.';

before(async () => {
  // A small adapter that moves the answers: a few steps at a high learning rate on one sequence.
  const tokenizer = loadTokenizer(MODEL);
  const ids = tokenizer.encode(tokenizer.renderChat([{ role: 'user', content: PROMPT }], true) + 'Bananas are yellow and tasty.', {
    bos: false,
  });
  const engine = await loadAddon().loadEngine(
    MODEL,
    engineOptions(
      configWith({
        device: 'cpu',
        'model.precision': '32-true',
        'train.method': 'lora',
        'lora.r': 4,
        'lora.alpha': 16,
        'lora.mlp': true,
        'train.learning_rate': 0.02,
        'train.warmup_steps': 0,
      }),
      10,
      true,
      undefined,
      1,
    ),
  );
  const tokens = Int32Array.from(ids.slice(0, -1));
  const targets = Int32Array.from(ids.slice(1));
  for (let i = 0; i < 8; i++) await engine.step([{ rows: 1, seqLen: tokens.length, tokens, targets }]);
  await engine.saveAdapter(adapterDir, MODEL);
  engine.dispose();
});

/** A server on a channel that records every message; waitFor polls the record with a deadline. */
async function serve() {
  const messages: ChatToHost[] = [];
  const server = await ChatServer.start(MODEL, { send: (m) => messages.push(m) });
  const waitFor = async <T extends ChatToHost>(pick: (m: ChatToHost) => m is T, what: string): Promise<T> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = messages.find(pick);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within 60 s: ${JSON.stringify(messages.slice(-3))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const doneOf = (id: string) =>
    waitFor((m): m is Extract<ChatToHost, { type: 'done' }> => m.type === 'done' && m.id === id, `done of ${id}`);
  const streamed = (id: string) =>
    messages
      .filter((m): m is Extract<ChatToHost, { type: 'token' }> => m.type === 'token' && m.id === id)
      .map((m) => m.text)
      .join('');
  return { server: server!, messages, doneOf, streamed };
}

test('base and finetune over one model: each greedy answer equals `lora-lab generate` (without and with --adapter)', async () => {
  const { server, messages, doneOf, streamed } = await serve();
  const ready = messages[0];
  assert.ok(ready.type === 'ready' && ready.hasChatTemplate && ready.device.length > 0, JSON.stringify(ready));
  const turns = [{ role: 'user' as const, content: PROMPT }];
  void server.receive({ type: 'generate', id: 'b1', adapter: null, turns, format: 'template', sampling: GREEDY });
  void server.receive({ type: 'generate', id: 'f1', adapter: adapterDir, turns, format: 'template', sampling: GREEDY });
  void server.receive({ type: 'generate', id: 'b2', adapter: null, turns, format: 'template', sampling: GREEDY });
  const [base, finetune, baseAgain] = [await doneOf('b1'), await doneOf('f1'), await doneOf('b2')];
  assert.equal(streamed('b1'), base.text);
  assert.equal(streamed('f1'), finetune.text);
  assert.ok(base.tokens > 0 && base.tokensPerSecond > 0 && ['stop-token', 'max-tokens'].includes(base.reason), JSON.stringify(base));
  assert.notEqual(finetune.text, base.text, 'the adapter changes the answer');
  assert.equal(baseAgain.text, base.text, 'switching the adapter off again gives the base answer');
  const prompt = messages.find((m) => m.type === 'prompt' && m.id === 'b1');
  assert.ok(prompt?.type === 'prompt' && prompt.text === loadTokenizer(MODEL).renderChat(turns, true) && prompt.tokens > 0);
  server.close();

  const cli = (extra: string[]) =>
    runCli(['generate', '--checkpoint', MODEL, '--prompt', PROMPT, '--chat', '--max-new-tokens', '24', ...extra]);
  const cliBase = cli([]);
  assert.equal(cliBase.status, 0, cliBase.stderr);
  assert.equal(cliBase.stdout, `${base.text}\n`);
  const cliFinetune = cli(['--adapter', adapterDir]);
  assert.equal(cliFinetune.status, 0, cliFinetune.stderr);
  assert.equal(cliFinetune.stdout, `${finetune.text}\n`);
});

test('stop: the generation in flight ends as stopped, a queued one is dropped; a stop string cuts the answer', async () => {
  const { server, doneOf, streamed, messages } = await serve();
  const turns = [{ role: 'user' as const, content: 'Tell a long story.' }];
  const long = { ...GREEDY, maxNewTokens: 400, stop: [] };
  // the engine call of 'long' is in flight once receive() returns (it starts before its first await)
  void server.receive({ type: 'generate', id: 'long', adapter: null, turns, format: 'plain', sampling: long });
  void server.receive({ type: 'generate', id: 'queued', adapter: null, turns, format: 'plain', sampling: long });
  assert.ok(
    messages.some((m) => m.type === 'prompt' && m.id === 'long'),
    'long has started',
  );
  await server.receive({ type: 'stop', id: 'queued' });
  await server.receive({ type: 'stop', id: 'long' });
  const stopped = await doneOf('long');
  assert.equal(stopped.reason, 'stopped');
  assert.ok(stopped.tokens < 400, `${stopped.tokens} tokens`);
  const dropped = await doneOf('queued');
  assert.equal(dropped.reason, 'stopped');
  assert.equal(dropped.tokens, 0);

  // the first few characters of the free answer as a stop string: the answer is what came before
  void server.receive({ type: 'generate', id: 'free', adapter: null, turns, format: 'plain', sampling: { ...GREEDY, maxNewTokens: 16 } });
  const free = await doneOf('free');
  const stopText = free.text.slice(3, 6);
  assert.ok(stopText.length === 3, `answer too short: ${JSON.stringify(free.text)}`);
  void server.receive({
    type: 'generate',
    id: 'cut',
    adapter: null,
    turns,
    format: 'plain',
    sampling: { ...GREEDY, maxNewTokens: 16, stop: [stopText] },
  });
  const cut = await doneOf('cut');
  assert.equal(cut.reason, 'stop-string');
  assert.equal(cut.text, free.text.slice(0, free.text.indexOf(stopText)));
  assert.equal(streamed('cut'), cut.text);
  server.close();
});

test('a model that does not fit in free memory is refused, naming the size and what to do', async () => {
  const refusal = memoryRefusal(MODEL, 1000);
  assert.match(
    refusal ?? '',
    /needs about .* for its weights in fp32 .* only 1000 B of memory is free\. Close other programs or runs, or chat with a smaller model\./,
  );
  assert.equal(memoryRefusal(MODEL, 1e12), null);
  const messages: ChatToHost[] = [];
  assert.equal(await ChatServer.start(MODEL, { send: (m) => messages.push(m) }, 1000), null);
  assert.deepEqual(
    messages.map((m) => m.type === 'load-failed' && m.code),
    ['E_NO_MEMORY'],
  );
  const missing: ChatToHost[] = [];
  assert.equal(await ChatServer.start(join(dir, 'nowhere'), { send: (m) => missing.push(m) }), null);
  assert.ok(missing[0].type === 'load-failed' && /not a model folder \(no config.json\)/.test(missing[0].message));
});
