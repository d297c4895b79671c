// The chat page script: owns the conversation (saved with setState, so it survives a reload),
// sends each prompt to the base model and/or the finetune through the host, streams the answers
// into place with tokens/s, and offers stop, copy, the rendered prompt and a Markdown export.
// DOM contract for tests: each message has data-role="user|assistant", answers data-side="base|finetune".
import '@vscode-elements/elements/dist/vscode-button/index.js';
import {
  conversationMarkdown,
  DEFAULT_CHAT_SETTINGS,
  isHostToChatView,
  parseChatState,
  turnsFor,
  type ChatEntry,
  type ChatSide,
  type ChatState,
  type ChatTarget,
  type ChatViewToHost,
  type HostToChatView,
} from './protocol';
import { SettingsForm } from './settings';

interface VsCodeApi {
  postMessage(message: ChatViewToHost): void;
  getState(): unknown;
  setState(state: ChatState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const saved = parseChatState(vscode.getState());
let target: ChatTarget | undefined = saved?.target;
let settings = saved?.settings ?? { ...DEFAULT_CHAT_SETTINGS };
let styleApplied = saved !== undefined;
const entries: ChatEntry[] = saved?.entries ?? [];
let counter = 0;

type Button = HTMLElement & { disabled: boolean; secondary: boolean };
function button(label: string, action: string, onClick: () => void, secondary = true): Button {
  const b = document.createElement('vscode-button') as Button;
  b.textContent = label;
  b.secondary = secondary;
  b.setAttribute('data-action', action);
  b.addEventListener('click', () => {
    if (!b.disabled) onClick();
  });
  return b;
}

const app = document.getElementById('app')!;
const header = document.createElement('header');
header.className = 'chat-header';
const title = document.createElement('h1');
title.className = 'chat-title';
const status = document.createElement('div');
status.className = 'chat-status';
status.setAttribute('data-status', 'loading');
const notice = document.createElement('div');
notice.className = 'chat-notice';
notice.hidden = true;
const actions = document.createElement('div');
actions.className = 'chat-actions';
actions.append(
  button('Copy as Markdown', 'copy-all', () => target && vscode.postMessage({ type: 'copy', text: conversationMarkdown(state()) })),
  button('Export Markdown…', 'export', () => target && vscode.postMessage({ type: 'export', markdown: conversationMarkdown(state()) })),
  button('Clear', 'clear', () => {
    stop();
    entries.length = 0;
    render();
  }),
);
header.append(title, actions, status, notice);
const form = new SettingsForm(settings, (next) => {
  settings = next;
  render();
});
const list = document.createElement('div');
list.className = 'chat-messages';
const composer = document.createElement('div');
composer.className = 'chat-composer';
const input = document.createElement('vscode-textarea') as HTMLElement & { value: string; placeholder: string; disabled: boolean };
input.className = 'chat-input';
input.placeholder = 'Message (Ctrl+Enter to send)';
const sendButton = button('Send', 'send', () => send(), false);
const stopButton = button('Stop', 'stop', () => stop());
composer.append(input, sendButton, stopButton);
app.append(header, form.root, list, composer);
input.addEventListener('keydown', (event: KeyboardEvent) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    send();
  }
});

function state(): ChatState {
  return { target: target!, settings, entries };
}

function persist(): void {
  if (target) vscode.setState(state());
}

function sides(): ChatSide[] {
  if (!target?.adapter) return ['base'];
  return settings.sideBySide ? ['base', 'finetune'] : ['finetune'];
}

function pending(): ChatEntry[] {
  return entries.filter((e) => e.pending);
}

function send(): void {
  const text = input.value.trim();
  if (!text || !target || status.getAttribute('data-status') !== 'ready' || pending().length > 0) return;
  input.value = '';
  entries.push({ role: 'user', text });
  const sampling = {
    temperature: settings.temperature,
    topP: settings.topP,
    maxNewTokens: settings.maxNewTokens,
    seed: settings.seed,
    stop: settings.stop,
  };
  const requests = sides().map((side) => ({
    side,
    turns: turnsFor(entries, side, settings.systemPrompt),
    requestId: `${Date.now().toString(36)}-${++counter}`,
  }));
  for (const r of requests) {
    entries.push({ role: 'assistant', side: r.side, text: '', requestId: r.requestId, pending: true });
    vscode.postMessage({ type: 'generate', requestId: r.requestId, side: r.side, turns: r.turns, format: settings.format, sampling });
  }
  render();
}

function stop(): void {
  const ids = pending()
    .map((e) => e.requestId!)
    .filter(Boolean);
  if (ids.length) vscode.postMessage({ type: 'stop', requestIds: ids });
}

function sideLabel(side: ChatSide | undefined): string {
  return side === 'base' ? 'Base model' : 'Finetune';
}

function messageElement(entry: ChatEntry): HTMLElement {
  const box = document.createElement('div');
  box.className = `message message-${entry.role}` + (entry.side ? ` side-${entry.side}` : '');
  box.setAttribute('data-role', entry.role);
  if (entry.role === 'assistant' && entry.side) box.setAttribute('data-side', entry.side);
  if (entry.requestId) box.setAttribute('data-request', entry.requestId);
  if (entry.pending) box.setAttribute('data-pending', 'true');
  const who = document.createElement('div');
  who.className = 'message-who';
  who.textContent = entry.role === 'user' ? 'You' : sideLabel(entry.side);
  const body = document.createElement('div');
  body.className = 'message-text';
  body.textContent = entry.text;
  box.append(who, body);
  if (entry.role === 'assistant') {
    const foot = document.createElement('div');
    foot.className = 'message-foot';
    const stats = document.createElement('span');
    stats.className = 'message-stats';
    if (entry.error) stats.textContent = `Error: ${entry.error}`;
    else if (entry.pending) stats.textContent = 'generating…';
    else if (entry.tokens !== undefined)
      stats.textContent = `${entry.tokens} tokens · ${(entry.tokensPerSecond ?? 0).toFixed(1)} tokens/s · ${entry.reason ?? ''}`;
    if (entry.error) stats.classList.add('message-error');
    foot.append(stats);
    if (!entry.pending) {
      foot.append(button('Copy', 'copy', () => vscode.postMessage({ type: 'copy', text: entry.text })));
      if (entry.prompt) foot.append(button('Prompt', 'show-prompt', () => vscode.postMessage({ type: 'showPrompt', text: entry.prompt! })));
    }
    box.append(foot);
  }
  return box;
}

function render(): void {
  title.textContent = target ? `Chat: ${target.label}` : 'Chat';
  form.update(Boolean(target?.adapter), settings);
  list.replaceChildren();
  let row: HTMLElement | null = null;
  for (const entry of entries) {
    if (entry.role === 'user') {
      row = null;
      list.append(messageElement(entry));
      continue;
    }
    if (!row) {
      row = document.createElement('div');
      row.className = 'answers';
      list.append(row);
    }
    row.append(messageElement(entry));
    row.classList.toggle('two-columns', row.children.length > 1);
  }
  const busy = pending().length > 0;
  sendButton.disabled = busy || status.getAttribute('data-status') !== 'ready';
  stopButton.disabled = !busy;
  list.scrollTop = list.scrollHeight;
  persist();
}

function byRequest(id: string): ChatEntry | undefined {
  return entries.find((e) => e.requestId === id);
}

function receive(message: HostToChatView): void {
  if (message.type === 'model') {
    target = message.target;
    if (!styleApplied && message.target.promptStyle) settings = { ...settings, format: message.target.promptStyle };
    styleApplied = true;
    const s = message.status;
    status.setAttribute('data-status', s.state);
    status.classList.toggle('chat-error', s.state === 'failed');
    status.textContent =
      s.state === 'loading'
        ? `Loading ${target.checkpoint}…`
        : s.state === 'ready'
          ? `Ready on ${s.device} (loaded in ${s.loadSeconds.toFixed(1)} s)` + (target.adapter ? ` · adapter ${target.adapter}` : '')
          : s.message;
    if (s.state === 'ready' && !s.hasChatTemplate && settings.format === 'template') settings = { ...settings, format: 'alpaca' };
    // answers still streaming in the host get their text so far; other pending ones were cut off
    for (const entry of pending()) {
      const running = message.inFlight.find((r) => r.requestId === entry.requestId);
      if (running) entry.text = running.text;
      else Object.assign(entry, { pending: false, reason: 'stopped', error: entry.text ? undefined : 'interrupted (the window reloaded)' });
    }
    notice.hidden = !message.notice;
    notice.textContent = message.notice ?? '';
    render();
    return;
  }
  const entry = byRequest(message.requestId);
  if (!entry) return;
  if (message.type === 'prompt') {
    entry.prompt = message.text;
    persist();
  } else if (message.type === 'token') {
    entry.text += message.text;
    const body = list.querySelector(`[data-request="${CSS.escape(message.requestId)}"] .message-text`);
    if (body) body.textContent = entry.text;
    list.scrollTop = list.scrollHeight;
    persist();
  } else if (message.type === 'done') {
    Object.assign(entry, { pending: false, tokens: message.tokens, tokensPerSecond: message.tokensPerSecond, reason: message.reason });
    render();
  } else {
    Object.assign(entry, { pending: false, error: message.message });
    render();
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  if (isHostToChatView(event.data)) receive(event.data);
});
render();
vscode.postMessage({ type: 'ready' });
