// The host <-> chat webview protocol (postMessage both ways) and the panel's saved state (setState,
// handed back to the serializer after a reload). The webview owns the conversation; the host owns
// the model child and relays generations by request id.

export type ChatSide = 'base' | 'finetune';
export type ChatFormat = 'template' | 'alpaca' | 'plain';

export interface ChatSettings {
  systemPrompt: string;
  format: ChatFormat;
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
  /** One stop string per line in the settings box. */
  stop: string[];
  /** Each prompt to the base model and to the finetune, answers in two columns. */
  sideBySide: boolean;
}

export const DEFAULT_CHAT_SETTINGS: ChatSettings = {
  systemPrompt: '',
  format: 'template',
  temperature: 0,
  topP: 1,
  maxNewTokens: 128,
  seed: 0,
  stop: [],
  sideBySide: true,
};

export interface ChatEntry {
  role: 'user' | 'assistant';
  /** Assistant entries: which model answered (base: adapter off; finetune: adapter on). */
  side?: ChatSide;
  text: string;
  /** Assistant entries: the request that produced it, and how it went. */
  requestId?: string;
  prompt?: string;
  tokens?: number;
  tokensPerSecond?: number;
  reason?: string;
  error?: string;
  pending?: boolean;
}

/** What the panel chats with. adapter null: the base model alone (no side-by-side). */
export interface ChatTarget {
  checkpoint: string;
  adapter: string | null;
  /** Shown in the header: run name and adapter/checkpoint folder. */
  label: string;
  /** The run's data.prompt_style when the target is a run ('chat' maps to the template). */
  promptStyle?: ChatFormat;
}

export interface ChatState {
  target: ChatTarget;
  settings: ChatSettings;
  entries: ChatEntry[];
}

export type ChatModelStatus =
  | { state: 'loading' }
  | { state: 'ready'; device: string; hasChatTemplate: boolean; loadSeconds: number }
  | { state: 'failed'; code: string; message: string };

export type HostToChatView =
  /**
   * The target and the model child's status; notice: e.g. a training run in progress. inFlight: the
   * panel's generations still running and their text so far (a page that was hidden or reloaded
   * missed tokens; entries pending but not listed were interrupted).
   */
  | { type: 'model'; target: ChatTarget; status: ChatModelStatus; notice?: string; inFlight: { requestId: string; text: string }[] }
  | { type: 'prompt'; requestId: string; text: string; tokens: number }
  | { type: 'token'; requestId: string; text: string }
  | { type: 'done'; requestId: string; tokens: number; tokensPerSecond: number; reason: string }
  | { type: 'error'; requestId: string; message: string };

export interface ChatTurnMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type ChatViewToHost =
  | { type: 'ready' }
  | {
      type: 'generate';
      requestId: string;
      side: ChatSide;
      turns: ChatTurnMessage[];
      format: ChatFormat;
      sampling: { temperature: number; topP: number; maxNewTokens: number; seed: number; stop: string[] };
    }
  | { type: 'stop'; requestIds: string[] }
  | { type: 'copy'; text: string }
  | { type: 'export'; markdown: string }
  | { type: 'showPrompt'; text: string };

export function isChatViewToHost(value: unknown): value is ChatViewToHost {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
      return true;
    case 'generate':
      return (
        typeof m.requestId === 'string' &&
        (m.side === 'base' || m.side === 'finetune') &&
        Array.isArray(m.turns) &&
        typeof m.format === 'string' &&
        !!m.sampling &&
        typeof m.sampling === 'object'
      );
    case 'stop':
      return Array.isArray(m.requestIds) && m.requestIds.every((id) => typeof id === 'string');
    case 'copy':
    case 'showPrompt':
      return typeof m.text === 'string';
    case 'export':
      return typeof m.markdown === 'string';
    default:
      return false;
  }
}

export function isHostToChatView(value: unknown): value is HostToChatView {
  if (!value || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return type === 'model' || type === 'prompt' || type === 'token' || type === 'done' || type === 'error';
}

/** The saved state, or undefined when it is not one (an older or foreign state). */
export function parseChatState(value: unknown): ChatState | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const s = value as Partial<ChatState>;
  const target = s.target as Partial<ChatTarget> | undefined;
  if (
    !target ||
    typeof target.checkpoint !== 'string' ||
    !(target.adapter === null || typeof target.adapter === 'string') ||
    typeof target.label !== 'string'
  )
    return undefined;
  const entries = Array.isArray(s.entries)
    ? s.entries.filter((e): e is ChatEntry => !!e && (e.role === 'user' || e.role === 'assistant') && typeof e.text === 'string')
    : [];
  return { target: target as ChatTarget, settings: { ...DEFAULT_CHAT_SETTINGS, ...(s.settings ?? {}) }, entries };
}

/**
 * The turns one side has seen: the system prompt, every user entry and that side's answers (an
 * answer that failed or was stopped empty is left out), ending with the newest user entry.
 */
export function turnsFor(entries: readonly ChatEntry[], side: ChatSide, systemPrompt: string): ChatTurnMessage[] {
  const turns: ChatTurnMessage[] = systemPrompt.trim() ? [{ role: 'system', content: systemPrompt }] : [];
  for (const entry of entries) {
    if (entry.role === 'user') turns.push({ role: 'user', content: entry.text });
    else if (entry.side === side && !entry.error && !entry.pending && entry.text) turns.push({ role: 'assistant', content: entry.text });
  }
  return turns;
}

/** The conversation as Markdown: the target, the settings, then each message under its speaker. */
export function conversationMarkdown(state: ChatState): string {
  const { target, settings } = state;
  const lines = [`# Chat: ${target.label}`, '', `- Base model: \`${target.checkpoint}\``];
  if (target.adapter) lines.push(`- Adapter: \`${target.adapter}\``);
  lines.push(
    `- Prompt format: ${settings.format}; temperature ${settings.temperature}, top-p ${settings.topP}, max new tokens ${settings.maxNewTokens}, seed ${settings.seed}` +
      (settings.stop.length ? `; stop ${settings.stop.map((s) => JSON.stringify(s)).join(', ')}` : ''),
  );
  if (settings.systemPrompt.trim()) lines.push('', '**System:**', '', settings.systemPrompt.trim());
  for (const entry of state.entries) {
    const who = entry.role === 'user' ? 'User' : entry.side === 'base' ? 'Base model' : target.adapter ? 'Finetune' : 'Assistant';
    const stats =
      entry.role === 'assistant' && entry.tokens !== undefined
        ? ` _(${entry.tokens} tokens, ${(entry.tokensPerSecond ?? 0).toFixed(1)} tokens/s)_`
        : '';
    lines.push('', `**${who}:**${stats}`, '', entry.error ? `> Error: ${entry.error}` : entry.text);
  }
  return lines.join('\n') + '\n';
}
