// The chat's settings form (system prompt, prompt format, temperature, top-p, max new tokens,
// seed, stop strings, side by side) built from @vscode-elements, reporting every change.
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { ChatFormat, ChatSettings } from './protocol';

type ValueElement = HTMLElement & { value: string };
type CheckElement = HTMLElement & { checked: boolean; disabled: boolean };

function field(label: string, control: HTMLElement): HTMLElement {
  const wrap = document.createElement('label');
  wrap.className = 'setting';
  const text = document.createElement('span');
  text.className = 'setting-label';
  text.textContent = label;
  wrap.append(text, control);
  return wrap;
}

function numberField(name: string, value: number, onChange: (n: number) => void, valid: (n: number) => boolean): HTMLElement {
  const input = document.createElement('vscode-textfield') as ValueElement;
  input.setAttribute('data-setting', name);
  input.value = String(value);
  input.addEventListener('change', () => {
    const n = Number(input.value);
    if (Number.isFinite(n) && valid(n)) onChange(n);
    else input.value = String(value);
  });
  return input;
}

export class SettingsForm {
  readonly root = document.createElement('vscode-collapsible') as HTMLElement & { open: boolean; title: string };
  private readonly sideBySide = document.createElement('vscode-checkbox') as CheckElement;
  private readonly format = document.createElement('vscode-single-select') as ValueElement;

  constructor(
    private settings: ChatSettings,
    onChange: (settings: ChatSettings) => void,
  ) {
    this.root.title = 'Settings';
    const set = (patch: Partial<ChatSettings>) => {
      this.settings = { ...this.settings, ...patch };
      onChange(this.settings);
    };
    const system = document.createElement('vscode-textarea') as ValueElement;
    system.setAttribute('data-setting', 'systemPrompt');
    system.value = settings.systemPrompt;
    system.addEventListener('change', () => set({ systemPrompt: system.value }));
    for (const [value, label] of [
      ['template', "Model's chat template"],
      ['alpaca', 'Alpaca prompt style'],
      ['plain', 'Plain prompt style'],
    ]) {
      const option = document.createElement('vscode-option') as HTMLElement & { value: string };
      option.value = value;
      option.textContent = label;
      this.format.append(option);
    }
    this.format.setAttribute('data-setting', 'format');
    this.format.value = settings.format;
    this.format.addEventListener('change', () => set({ format: this.format.value as ChatFormat }));
    const stop = document.createElement('vscode-textarea') as ValueElement;
    stop.setAttribute('data-setting', 'stop');
    stop.value = settings.stop.join('\n');
    stop.addEventListener('change', () => set({ stop: stop.value.split('\n').filter((s) => s.length > 0) }));
    this.sideBySide.setAttribute('data-setting', 'sideBySide');
    this.sideBySide.checked = settings.sideBySide;
    this.sideBySide.textContent = 'Side by side: base model and finetune';
    this.sideBySide.addEventListener('change', () => set({ sideBySide: this.sideBySide.checked }));
    const grid = document.createElement('div');
    grid.className = 'settings-grid';
    grid.append(
      field('System prompt', system),
      field('Prompt format', this.format),
      field(
        'Temperature (0 = greedy)',
        numberField(
          'temperature',
          settings.temperature,
          (n) => set({ temperature: n }),
          (n) => n >= 0,
        ),
      ),
      field(
        'Top-p',
        numberField(
          'topP',
          settings.topP,
          (n) => set({ topP: n }),
          (n) => n > 0 && n <= 1,
        ),
      ),
      field(
        'Max new tokens',
        numberField(
          'maxNewTokens',
          settings.maxNewTokens,
          (n) => set({ maxNewTokens: n }),
          (n) => Number.isInteger(n) && n > 0 && n <= 4096,
        ),
      ),
      field(
        'Seed',
        numberField(
          'seed',
          settings.seed,
          (n) => set({ seed: n }),
          (n) => Number.isInteger(n) && n >= 0,
        ),
      ),
      field('Stop strings (one per line)', stop),
      this.sideBySide,
    );
    this.root.append(grid);
  }

  /** Settings changed by the page (the run's prompt style, no chat template); side by side needs an adapter. */
  update(hasAdapter: boolean, settings: ChatSettings): void {
    this.settings = settings;
    this.sideBySide.disabled = !hasAdapter;
    if (this.format.value !== settings.format) this.format.value = settings.format;
  }
}
