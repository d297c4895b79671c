// The chat webview's protocol helpers: which turns each side has seen, the Markdown export, the
// saved state's parser and the message guards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  conversationMarkdown,
  DEFAULT_CHAT_SETTINGS,
  isChatViewToHost,
  isHostToChatView,
  parseChatState,
  turnsFor,
  type ChatEntry,
  type ChatState,
} from '../../../webview/src/chat/protocol';

const entries: ChatEntry[] = [
  { role: 'user', text: 'Name a colour.' },
  { role: 'assistant', side: 'base', text: 'Red.', tokens: 2, tokensPerSecond: 40 },
  { role: 'assistant', side: 'finetune', text: 'Blue.', tokens: 3, tokensPerSecond: 50 },
  { role: 'user', text: 'Another?' },
  { role: 'assistant', side: 'base', text: '', pending: true },
  { role: 'assistant', side: 'finetune', text: '', error: 'boom' },
];

test('each side sees the system prompt, every user turn and only its own finished answers', () => {
  assert.deepEqual(turnsFor(entries, 'base', 'Be brief.'), [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Red.' },
    { role: 'user', content: 'Another?' },
  ]);
  assert.deepEqual(
    turnsFor(entries, 'finetune', '  ').map((t) => t.content),
    ['Name a colour.', 'Blue.', 'Another?'],
  );
});

test('Markdown export: target, settings, then each message under its speaker with tokens/s', () => {
  const state: ChatState = {
    target: { checkpoint: '/m/tiny', adapter: '/r/adapter', label: 'run-1 (adapter)' },
    settings: { ...DEFAULT_CHAT_SETTINGS, systemPrompt: 'Be brief.', stop: ['###'] },
    entries: entries.slice(0, 3),
  };
  assert.equal(
    conversationMarkdown(state),
    [
      '# Chat: run-1 (adapter)',
      '',
      '- Base model: `/m/tiny`',
      '- Adapter: `/r/adapter`',
      '- Prompt format: template; temperature 0, top-p 1, max new tokens 128, seed 0; stop "###"',
      '',
      '**System:**',
      '',
      'Be brief.',
      '',
      '**User:**',
      '',
      'Name a colour.',
      '',
      '**Base model:** _(2 tokens, 40.0 tokens/s)_',
      '',
      'Red.',
      '',
      '**Finetune:** _(3 tokens, 50.0 tokens/s)_',
      '',
      'Blue.',
      '',
    ].join('\n'),
  );
});

test('saved state: a chat state is restored with default settings filled in; anything else is not one', () => {
  const parsed = parseChatState({
    target: { checkpoint: '/m', adapter: null, label: 'm' },
    settings: { temperature: 0.7 },
    entries: [
      { role: 'user', text: 'hi' },
      { role: 'robot', text: 'x' },
    ],
  });
  assert.equal(parsed?.settings.temperature, 0.7);
  assert.equal(parsed?.settings.maxNewTokens, DEFAULT_CHAT_SETTINGS.maxNewTokens);
  assert.deepEqual(parsed?.entries, [{ role: 'user', text: 'hi' }]);
  assert.equal(parseChatState({ runDir: '/x' }), undefined);
  assert.equal(parseChatState({ target: { checkpoint: 3, adapter: null, label: 'm' } }), undefined);
  assert.equal(parseChatState(null), undefined);
});

test('message guards accept the protocol and refuse junk', () => {
  const sampling = { temperature: 0, topP: 1, maxNewTokens: 8, seed: 0, stop: [] };
  assert.ok(isChatViewToHost({ type: 'generate', requestId: 'a', side: 'base', turns: [], format: 'template', sampling }));
  assert.ok(!isChatViewToHost({ type: 'generate', requestId: 'a', side: 'left', turns: [], format: 'template', sampling }));
  assert.ok(isChatViewToHost({ type: 'stop', requestIds: ['a'] }));
  assert.ok(!isChatViewToHost({ type: 'stop', requestIds: [1] }));
  assert.ok(isChatViewToHost({ type: 'export', markdown: '# x' }));
  assert.ok(!isChatViewToHost({ type: 'format-disk' }));
  assert.ok(!isChatViewToHost('<script>'));
  assert.ok(isHostToChatView({ type: 'token', requestId: 'a', text: 'x' }));
  assert.ok(!isHostToChatView({ type: 'run' }));
});
