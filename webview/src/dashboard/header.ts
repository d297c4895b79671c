// The dashboard header: status, progress, ETA, elapsed, tokens/s, memory in use while training,
// device, config summary, the error of a failed run, the action buttons, and peak memory by category
// as a bar scaled to the run's own peak (the device's total as text).
// Every text from the run (names, errors, paths) is set with textContent, never as HTML.
import type { MemoryCategory } from '../../../native/trainer/protocol';
import { formatBytes, formatDuration, formatLoss } from '../../../language-server/src/lib/format';
import type { DashboardAction, DashboardRun } from '../protocol';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const CATEGORY_LABELS: Record<MemoryCategory, string> = {
  weights: 'weights',
  quant_constants: 'quant. constants',
  lora_params: 'LoRA params',
  grads: 'grads',
  optimizer_state: 'optimizer state',
  activations: 'activations',
  logits: 'logits',
  workspace: 'workspace',
  kv_cache: 'KV cache',
};

export class Header {
  readonly root = el('header', 'run-header');
  private readonly title = el('h2', 'run-title');
  private readonly status = el('span', 'run-status');
  private readonly progress = document.createElement('vscode-progress-bar') as HTMLElement & { value?: number; max: number };
  private readonly stats = el('div', 'run-stats');
  private readonly config = el('div', 'run-config');
  private readonly error = el('div', 'run-error');
  private readonly memory = el('div', 'run-memory');
  private readonly buttons = new Map<DashboardAction, HTMLElement & { disabled: boolean }>();

  constructor(onAction: (action: DashboardAction) => void) {
    const titleRow = el('div', 'title-row');
    titleRow.append(this.title, this.status);
    const actions = el('div', 'run-actions');
    const labels: [DashboardAction, string, boolean][] = [
      ['stop', 'Stop', false],
      ['resume', 'Resume', false],
      ['reveal', 'Reveal Folder', true],
      ['openConfig', 'Open Config', true],
      ['chat', 'Chat', true],
    ];
    for (const [action, label, secondary] of labels) {
      const button = document.createElement('vscode-button') as HTMLElement & { disabled: boolean; secondary: boolean };
      button.textContent = label;
      button.secondary = secondary;
      button.addEventListener('click', () => {
        if (!button.disabled) onAction(action);
      });
      this.buttons.set(action, button);
      actions.append(button);
    }
    titleRow.append(actions);
    this.error.hidden = true;
    this.progress.max = 1;
    this.root.append(titleRow, this.progress, this.stats, this.config, this.error, this.memory);
  }

  render(
    run: DashboardRun,
    tokensPerS: number | undefined,
    lastLoss: number | undefined,
    nowMs: number,
    memory: { currentBytes?: number; peakBytes?: number } = {},
  ): void {
    this.title.textContent = run.name;
    this.status.textContent = run.state;
    this.status.className = `run-status state-${run.state}`;
    this.progress.max = Math.max(1, run.totalSteps);
    this.progress.value = run.step;
    this.progress.setAttribute('aria-label', `step ${run.step} of ${run.totalSteps}`);
    const elapsedS = ((run.endedMs ?? (run.state === 'running' ? nowMs : run.startedMs)) - run.startedMs) / 1000;
    const stats: [string, string][] = [
      ['step', `${run.step} / ${run.totalSteps}`],
      ['ETA', run.state === 'running' ? formatDuration(run.etaS) : '—'],
      ['elapsed', formatDuration(run.summary?.trainTimeS ?? elapsedS)],
      ['tokens/s', tokensPerS !== undefined ? tokensPerS.toFixed(1) : run.summary ? run.summary.tokensPerS.toFixed(1) : '—'],
      ['loss', formatLoss(lastLoss ?? run.summary?.finalTrainLoss)],
      ...(run.state === 'running' ? [['memory', memoryNow(memory, run.device.memoryBytes)] as [string, string]] : []),
      ['device', run.device.name || run.device.kind],
    ];
    this.stats.replaceChildren(
      ...stats.map(([label, value]) => {
        const cell = el('span', 'stat');
        cell.append(el('span', 'stat-label', label), el('span', 'stat-value', value));
        return cell;
      }),
    );
    const c = run.config;
    this.config.textContent = c
      ? [
          `${c.method}${c.quantize !== 'none' ? ` + ${c.quantize}` : ''}`,
          `r ${c.r ?? '—'}`,
          `alpha ${c.alpha ?? '—'}`,
          `targets ${c.targets.join(', ') || 'none'}`,
          c.precision,
          c.optimizer,
          `lr ${c.learningRate ?? '—'}`,
          `batch ${c.globalBatchSize ?? '—'} / micro ${c.microBatchSize ?? '—'}`,
        ].join(' · ')
      : 'config.yaml not readable';
    this.error.hidden = !run.error;
    if (run.error) {
      this.error.replaceChildren(el('strong', undefined, `${run.error.code}: `), document.createTextNode(run.error.message));
      if (run.error.hint) this.error.append(el('div', 'run-hint', run.error.hint));
    }
    this.buttons.get('stop')!.disabled = !run.canStop;
    this.buttons.get('resume')!.disabled = !run.canResume;
    this.renderMemory(run);
  }

  /** Peak memory by category (from the run's summary) as a bar scaled to the run's own peak; the device's total is text. */
  private renderMemory(run: DashboardRun): void {
    const byCategory = run.summary?.peakBytesByCategory;
    const entries = Object.entries(byCategory ?? {}).filter(([, bytes]) => (bytes ?? 0) > 0) as [MemoryCategory, number][];
    if (!entries.length) {
      this.memory.replaceChildren();
      return;
    }
    const total = entries.reduce((sum, [, bytes]) => sum + bytes, 0);
    const bar = el('div', 'memory-bar');
    bar.setAttribute('role', 'img');
    bar.setAttribute(
      'aria-label',
      `peak memory ${formatBytes(total)}: ${entries.map(([c, b]) => `${CATEGORY_LABELS[c] ?? c} ${formatBytes(b)}`).join(', ')}`,
    );
    const legend = el('div', 'memory-legend');
    entries.forEach(([category, bytes], i) => {
      const part = el('span', `memory-part cat-${i % 9}`);
      part.style.width = `${((bytes / total) * 100).toFixed(2)}%`;
      part.title = `${CATEGORY_LABELS[category] ?? category}: ${formatBytes(bytes)}`;
      bar.append(part);
      const item = el('span', 'memory-item');
      item.append(
        el('span', `swatch cat-${i % 9}`),
        document.createTextNode(`${CATEGORY_LABELS[category] ?? category} ${formatBytes(bytes)}`),
      );
      legend.append(item);
    });
    const peak = run.device.memoryBytes
      ? `${deviceShare(total, run.device.memoryBytes)} on ${run.device.name || run.device.kind}`
      : formatBytes(total);
    this.memory.replaceChildren(el('h3', undefined, `Peak memory by category: ${peak}`), bar, legend);
  }
}

/** '12.0 MiB of 23.5 GiB (0.05%)': a share of the device's total memory. */
export function deviceShare(bytes: number, deviceBytes: number): string {
  const percent = (bytes / deviceBytes) * 100;
  return `${formatBytes(bytes)} of ${formatBytes(deviceBytes)} (${percent >= 1 ? percent.toFixed(0) : percent.toPrecision(1)}%)`;
}

/** The header's memory while training: in use after the last step (the peak so far when the run does not log it). */
export function memoryNow(memory: { currentBytes?: number; peakBytes?: number }, deviceBytes: number | undefined): string {
  if (memory.peakBytes === undefined) return '—';
  const now = memory.currentBytes ?? memory.peakBytes;
  const inUse = deviceBytes ? deviceShare(now, deviceBytes) : formatBytes(now);
  return memory.currentBytes === undefined ? `${inUse} peak so far` : `${inUse} · peak ${formatBytes(memory.peakBytes)}`;
}
