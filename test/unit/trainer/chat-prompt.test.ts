// The chat's prompt rendering per template (the bundled tokenizer's, a Llama-2 style and a ChatML
// style chat template, through @huggingface/jinja) and per run prompt style, and the stop-string
// filter of streamed text.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadTokenizer } from '../../../language-server/src/lib/data/tokenizer';
import { renderChatPrompt, StopStringFilter } from '../../../native/trainer/chat/prompt';
import type { ChatTurn } from '../../../native/trainer/chat-protocol';
import { TINY_TOKENIZER_DIR } from '../helpers/tiny-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'lora-lab-chat-prompt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const LLAMA2 =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}" +
  "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** The bundled tokenizer with another chat template in its tokenizer_config.json. */
function tokenizerWithTemplate(name: string, template: string) {
  const folder = join(dir, name);
  mkdirSync(folder);
  for (const file of ['tokenizer.json', 'special_tokens_map.json', 'generation_config.json', 'config.json'])
    copyFileSync(join(TINY_TOKENIZER_DIR, file), join(folder, file));
  const config = JSON.parse(readFileSync(join(TINY_TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: template }));
  return loadTokenizer(folder);
}

const conversation: ChatTurn[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Name a colour.' },
  { role: 'assistant', content: 'Blue.' },
  { role: 'user', content: 'Another?' },
];

test("the bundled tokenizer's template: system, earlier turns, the generation prompt; BOS comes from the template", () => {
  const tokenizer = loadTokenizer(TINY_TOKENIZER_DIR);
  const rendered = renderChatPrompt(conversation, 'template', tokenizer);
  assert.equal(
    rendered.text,
    '<s>### System:\nBe brief.\n\n### User:\nName a colour.\n\n### Assistant:\nBlue.</s>\n\n### User:\nAnother?\n\n### Assistant:\n',
  );
  assert.equal(rendered.addBos, false);
  // one user turn: what `lora-lab generate --chat` renders
  assert.equal(
    renderChatPrompt([{ role: 'user', content: 'Hi' }], 'template', tokenizer).text,
    tokenizer.renderChat([{ role: 'user', content: 'Hi' }], true),
  );
});

test('a Llama-2 style template: <<SYS>> inside the first [INST], each exchange closed by EOS', () => {
  const rendered = renderChatPrompt(conversation, 'template', tokenizerWithTemplate('llama2', LLAMA2));
  assert.equal(rendered.text, '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nName a colour. [/INST] Blue. </s><s>[INST] Another? [/INST]');
  assert.throws(
    () =>
      renderChatPrompt(
        [
          { role: 'assistant', content: 'x' },
          { role: 'user', content: 'y' },
        ],
        'template',
        tokenizerWithTemplate('llama2b', LLAMA2),
      ),
    /chat template refused the conversation: .*alternate/,
  );
});

test('a ChatML style template: <|im_start|>role ... <|im_end|> and the assistant generation prompt', () => {
  const rendered = renderChatPrompt(conversation, 'template', tokenizerWithTemplate('chatml', CHATML));
  assert.equal(
    rendered.text,
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\nBlue.<|im_end|>\n<|im_start|>user\nAnother?<|im_end|>\n<|im_start|>assistant\n',
  );
});

test("a run's prompt style: alpaca and plain per exchange, BOS as the tokenizer adds it; no template is a clear error", () => {
  const tokenizer = loadTokenizer(TINY_TOKENIZER_DIR);
  const alpaca = renderChatPrompt([{ role: 'user', content: 'Add 2 and 3.' }], 'alpaca', tokenizer);
  assert.equal(
    alpaca.text,
    'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nAdd 2 and 3.\n\n### Response:\n',
  );
  assert.equal(alpaca.addBos, tokenizer.addBos);
  assert.equal(renderChatPrompt(conversation, 'plain', tokenizer).text, 'Be brief.\n\nName a colour.\nBlue.\n\nAnother?\n');
  const folder = join(dir, 'no-template');
  mkdirSync(folder);
  for (const file of ['tokenizer.json', 'special_tokens_map.json']) copyFileSync(join(TINY_TOKENIZER_DIR, file), join(folder, file));
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>' }));
  assert.throws(
    () => renderChatPrompt([{ role: 'user', content: 'x' }], 'template', loadTokenizer(folder)),
    /no chat_template: choose the prompt format alpaca or plain/,
  );
  assert.throws(() => renderChatPrompt(conversation.slice(0, 3), 'plain', tokenizer), /must end with a user turn/);
});

test('stop strings: held back while they might start, cut where they appear, released when they do not', () => {
  const filter = new StopStringFilter(['###', '\nUser:']);
  assert.equal(filter.push('Hello #'), 'Hello ');
  assert.equal(filter.push('# no'), '## no', 'two # are no stop string');
  assert.equal(filter.stopped, false);
  const other = new StopStringFilter(['###']);
  assert.equal(other.push('a #'), 'a ');
  assert.equal(other.push('b'), '#b');
  assert.equal(other.push(' c##'), ' c');
  assert.equal(other.flush(), '##');
  assert.equal(other.text, 'a #b c##');
  const cut = new StopStringFilter(['\nUser:']);
  assert.equal(cut.push('Blue.\nUs'), 'Blue.');
  assert.equal(cut.push('er: more'), '');
  assert.equal(cut.stopped, true);
  assert.equal(cut.text, 'Blue.');
  assert.equal(cut.flush(), '');
});
