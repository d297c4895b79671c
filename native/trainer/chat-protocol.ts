// The host <-> chat child protocol: the extension forks `dist/cli.js chat-serve --checkpoint DIR`
// (one child per base model) and speaks these IPC messages with it. The child loads the base model
// once and switches adapters over the same weights; generations run one at a time, in order.

/** A turn of a conversation. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * How the turns become prompt text: the checkpoint's chat template (tokenizer_config.json, rendered
 * with @huggingface/jinja) or a run's prompt style (alpaca, plain).
 */
export type ChatPromptFormat = 'template' | 'alpaca' | 'plain';

export const CHAT_PROMPT_FORMATS: readonly ChatPromptFormat[] = ['template', 'alpaca', 'plain'];

/** Sampling settings; the names and meaning of `lora-lab generate`'s options. */
export interface ChatSampling {
  /** 0 = greedy. */
  temperature: number;
  /** In (0, 1]. */
  topP: number;
  maxNewTokens: number;
  seed: number;
  /** Text that ends the answer (not included in it); the tokenizer's stop tokens always end it. */
  stop: string[];
}

export type HostToChat =
  /** adapter: a PEFT adapter folder (finetune side) or null (the base model: the adapter switched off). */
  | { type: 'generate'; id: string; adapter: string | null; turns: ChatTurn[]; format: ChatPromptFormat; sampling: ChatSampling }
  /** Ends the generation `id` (in flight: at the engine's next safe point; queued: dropped). */
  | { type: 'stop'; id: string }
  /** Frees the model and exits. */
  | { type: 'shutdown' };

export type ChatEndReason = 'stop-token' | 'stop-string' | 'max-tokens' | 'stopped';

export type ChatToHost =
  | { type: 'ready'; checkpoint: string; device: string; hasChatTemplate: boolean; loadSeconds: number }
  /** The model could not be loaded; the child exits after sending this. code 'E_NO_MEMORY': it does not fit. */
  | { type: 'load-failed'; code: string; message: string }
  /** The rendered prompt of a generation, as the engine sees it (text and token count). */
  | { type: 'prompt'; id: string; text: string; tokens: number }
  /** Streamed answer text (never a split UTF-8 character, never part of a stop string). */
  | { type: 'token'; id: string; text: string }
  | { type: 'done'; id: string; text: string; tokens: number; seconds: number; tokensPerSecond: number; reason: ChatEndReason }
  | { type: 'error'; id: string; code: string; message: string };

export const CHAT_SERVE_COMMAND = 'chat-serve';

/** Narrows an IPC message from the child. */
export function isChatToHost(value: unknown): value is ChatToHost {
  if (!value || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'load-failed' || type === 'prompt' || type === 'token' || type === 'done' || type === 'error';
}

/** Narrows an IPC message from the host (the child ignores anything else). */
export function isHostToChat(value: unknown): value is HostToChat {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  if (m.type === 'shutdown') return true;
  if (m.type === 'stop') return typeof m.id === 'string';
  if (m.type !== 'generate') return false;
  const s = m.sampling as Record<string, unknown> | undefined;
  return (
    typeof m.id === 'string' &&
    (m.adapter === null || typeof m.adapter === 'string') &&
    Array.isArray(m.turns) &&
    CHAT_PROMPT_FORMATS.includes(m.format as ChatPromptFormat) &&
    !!s &&
    typeof s.temperature === 'number' &&
    typeof s.topP === 'number' &&
    typeof s.maxNewTokens === 'number' &&
    typeof s.seed === 'number' &&
    Array.isArray(s.stop)
  );
}
