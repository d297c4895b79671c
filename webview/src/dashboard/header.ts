// The dashboard header: status, progress, ETA, elapsed, tokens/s, device, config summary, the
// error of a failed run, the action buttons, and peak memory by category against the capacity.
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

  render(run: DashboardRun, tokensPerS: number | undefined, lastLoss: number | undefined, nowMs: number): void {
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

  /** Peak memory by category (from the run's summary) as a bar scaled to the device capacity. */
  private renderMemory(run: DashboardRun): void {
    const byCategory = run.summary?.peakBytesByCategory;
    const entries = Object.entries(byCategory ?? {}).filter(([, bytes]) => (bytes ?? 0) > 0) as [MemoryCategory, number][];
    if (!entries.length) {
      this.memory.replaceChildren();
      return;
    }
    const total = entries.reduce((sum, [, bytes]) => sum + bytes, 0);
    const scale = Math.max(total, run.device.memoryBytes ?? 0);
    const bar = el('div', 'memory-bar');
    const legend = el('div', 'memory-legend');
    entries.forEach(([category, bytes], i) => {
      const part = el('span', `memory-part cat-${i % 9}`);
      part.style.width = `${((bytes / scale) * 100).toFixed(2)}%`;
      part.title = `${CATEGORY_LABELS[category] ?? category}: ${formatBytes(bytes)}`;
      bar.append(part);
      const item = el('span', 'memory-item');
      item.append(
        el('span', `swatch cat-${i % 9}`),
        document.createTextNode(`${CATEGORY_LABELS[category] ?? category} ${formatBytes(bytes)}`),
      );
      legend.append(item);
    });
    const capacity = run.device.memoryBytes ? ` of ${formatBytes(run.device.memoryBytes)} on ${run.device.name || run.device.kind}` : '';
    this.memory.replaceChildren(el('h3', undefined, `Peak memory by category: ${formatBytes(total)}${capacity}`), bar, legend);
  }
}
