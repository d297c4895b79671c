// The dataset panel's page script: progress while inspect-data runs, then the summary numbers
// (data-value), prompt/response shares, the token-length histogram, rejected rows as links that
// open the line, warnings, and a sample browser with masked tokens shaded and token boundaries on hover.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import 'uplot/dist/uPlot.min.css';
import type { DatasetReport } from '../../../native/trainer/protocol';
import {
  isDatasetHostMessage,
  parseDatasetState,
  type DatasetHostMessage,
  type DatasetState,
  type DatasetWebviewMessage,
} from '../protocol';
import { LengthHistogram } from './histogram';
import { histogramView, rejectedRows, sampleCounts, sampleTokens, summaryNumbers } from './view-model';

interface VsCodeApi {
  postMessage(message: DatasetWebviewMessage): void;
  getState(): unknown;
  setState(state: DatasetState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const saved = parseDatasetState(vscode.getState());
let configPath = saved?.configPath ?? '';
let sampleIndex = saved?.sample ?? 0;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const app = document.getElementById('app')!;
const header = el('header', 'dataset-header');
const title = el('h2', 'dataset-title', 'Dataset');
const refresh = el('vscode-button' as 'button', 'refresh', 'Inspect again');
refresh.addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
const subtitle = el('p', 'dataset-subtitle');
header.append(el('div', 'title-row'), subtitle);
header.firstElementChild!.append(title, refresh);
const progress = el('div', 'progress');
const progressBar = el('vscode-progress-bar' as 'div');
const progressText = el('span', 'progress-text', 'Reading the dataset…');
progress.append(progressBar, progressText);
const errorBox = el('pre', 'dataset-error');
errorBox.hidden = true;
const content = el('div', 'dataset-content');
content.hidden = true;
const summary = el('div', 'summary');
const shares = el('section', 'shares');
const chartHost = el('div', 'histogram');
const rejected = el('section', 'rejected');
const warnings = el('details', 'warnings');
const browser = el('section', 'samples');
content.append(summary, rejected, shares, chartHost, browser, warnings);
app.append(header, progress, errorBox, content);
const histogram = new LengthHistogram(chartHost);

function persist(): void {
  if (configPath) vscode.setState({ configPath, sample: sampleIndex });
}

const PHASES: Record<string, string> = {
  reading: 'Reading the dataset and tokenizer',
  tokenizing: 'Tokenizing',
  rendering: 'Rendering samples',
};

function showProgress(message: Extract<DatasetHostMessage, { type: 'dataset-progress' }>): void {
  progress.hidden = false;
  const known = message.total > 1;
  const bar = progressBar as unknown as HTMLElement & { indeterminate: boolean; value: number; max: number };
  bar.indeterminate = !known;
  if (known) {
    bar.max = message.total;
    bar.value = message.done;
  }
  progressText.textContent = known
    ? `${PHASES[message.phase]}: ${message.done.toLocaleString('en-US')} / ${message.total.toLocaleString('en-US')}`
    : `${PHASES[message.phase]}…`;
  progress.dataset.done = String(message.done);
  progress.dataset.total = String(message.total);
}

function renderSummary(data: DatasetReport): void {
  summary.replaceChildren(
    ...summaryNumbers(data).map((number) => {
      const stat = el('div', 'stat');
      stat.dataset.key = number.key;
      const value = el('span', 'stat-value', number.text);
      value.dataset.value = String(number.value);
      stat.append(el('span', 'stat-label', number.label), value);
      return stat;
    }),
  );
}

function renderShares(data: DatasetReport): void {
  const prompt = Math.round(1000 * data.promptShare) / 10;
  const bar = el('div', 'share-bar');
  const promptPart = el('span', `share-part prompt${data.maskPrompt ? ' masked' : ''}`);
  promptPart.style.width = `${prompt}%`;
  const responsePart = el('span', 'share-part response');
  responsePart.style.width = `${100 - prompt}%`;
  bar.append(promptPart, responsePart);
  const note = data.maskPrompt
    ? `mask_prompt is on: the prompt's ${prompt}% of tokens take no loss; the response's ${(100 - prompt).toFixed(1)}% (with EOS) train.`
    : `mask_prompt is off: every token takes loss, the prompt's ${prompt}% included.`;
  shares.replaceChildren(el('h3', undefined, 'Prompt vs response tokens'), bar, el('p', 'note', note));
}

function renderRejected(data: DatasetReport): void {
  const rows = rejectedRows(data.rejected);
  rejected.hidden = rows.length === 0;
  if (rows.length === 0) return rejected.replaceChildren();
  const list = el('ul', 'rejected-list');
  for (const row of rows) {
    const item = el('li', 'rejected-row');
    const link = el('a', 'location', row.location);
    link.href = '#';
    link.dataset.file = row.file;
    link.dataset.line = String(row.line);
    link.title = `Open ${row.file} at line ${row.line}`;
    link.addEventListener('click', (event) => {
      event.preventDefault();
      vscode.postMessage({ type: 'open-location', file: row.file, line: row.line });
    });
    item.append(link, el('span', 'why', ` ${row.why}`));
    list.append(item);
  }
  const heading = el('h3', undefined, `Rejected rows (${rows.length})`);
  rejected.replaceChildren(
    heading,
    el('p', 'note', 'The trainer refuses this file until these rows are fixed; the numbers above count the other records.'),
    list,
  );
}

function renderWarnings(data: DatasetReport): void {
  warnings.hidden = data.warnings.length === 0;
  const list = el('ul');
  for (const row of rejectedRows(data.warnings).slice(0, 200)) list.append(el('li', undefined, `${row.location}: ${row.why}`));
  warnings.replaceChildren(el('summary', undefined, `Warnings (${data.warnings.length})`), list);
}

function renderSample(data: DatasetReport): void {
  const heading = el('h3', undefined, 'Samples');
  if (data.samples.length === 0) return browser.replaceChildren(heading, el('p', 'note', 'No record to show.'));
  sampleIndex = Math.min(sampleIndex, data.samples.length - 1);
  const sample = data.samples[sampleIndex];
  const counts = sampleCounts(sample);
  const nav = el('div', 'sample-nav');
  const previous = el('vscode-button' as 'button', undefined, 'Previous');
  const next = el('vscode-button' as 'button', undefined, 'Next');
  (previous as unknown as { disabled: boolean }).disabled = sampleIndex === 0;
  (next as unknown as { disabled: boolean }).disabled = sampleIndex === data.samples.length - 1;
  const step = (delta: number) => {
    sampleIndex = Math.max(0, Math.min(data.samples.length - 1, sampleIndex + delta));
    persist();
    renderSample(data);
  };
  previous.addEventListener('click', () => step(-1));
  next.addEventListener('click', () => step(1));
  const where = el('a', 'location', `record ${sample.record + 1} (line ${sample.line})`);
  where.href = '#';
  where.addEventListener('click', (event) => {
    event.preventDefault();
    vscode.postMessage({ type: 'open-location', file: data.dataset.file, line: sample.line });
  });
  const facts = el(
    'span',
    'sample-facts',
    ` · ${sample.split} · ${counts.tokens} tokens, ${counts.masked} masked, ${counts.trained} trained${sample.truncated ? ' · truncated' : ''} · ${sampleIndex + 1} of ${data.samples.length}`,
  );
  nav.append(previous, next, where, facts);
  const text = el('pre', 'sample-text');
  text.dataset.record = String(sample.record);
  for (const token of sampleTokens(sample)) {
    const span = el('span', `token${token.masked ? ' masked' : ''}${token.prompt ? ' prompt' : ''}`, token.text);
    span.title = token.title;
    text.append(span);
  }
  const legend = el(
    'p',
    'note',
    data.maskPrompt
      ? 'Shaded tokens are masked (no loss). Hover a token for its id.'
      : 'mask_prompt is off: no token is masked. Hover a token for its id.',
  );
  browser.replaceChildren(heading, nav, legend, text);
}

function render(data: DatasetReport): void {
  if (configPath !== data.config) {
    configPath = data.config;
    sampleIndex = saved?.configPath === data.config ? sampleIndex : 0;
  }
  persist();
  progress.hidden = true;
  errorBox.hidden = true;
  content.hidden = false;
  const file = data.dataset.file.split(/[\\/]/).pop();
  title.textContent = `Dataset: ${file} (${data.dataset.format})`;
  subtitle.textContent = `Tokenizer ${data.tokenizer.checkpoint} (vocab ${data.tokenizer.vocabSize}) · prompt style ${data.promptStyle} · mask_prompt ${data.maskPrompt} · max_seq_length ${data.maxSeqLength}`;
  renderSummary(data);
  renderShares(data);
  histogram.render(histogramView(data.stats.histogram, data.maxSeqLength));
  renderRejected(data);
  renderWarnings(data);
  renderSample(data);
}

function receive(message: DatasetHostMessage): void {
  if (message.type === 'dataset-progress') {
    if (message.configPath !== configPath) {
      configPath = message.configPath;
      persist();
    }
    showProgress(message);
  } else if (message.type === 'dataset-report') {
    render(message.report);
  } else {
    progress.hidden = true;
    errorBox.hidden = false;
    errorBox.textContent = message.message;
    content.hidden = true;
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isDatasetHostMessage(event.data)) receive(event.data);
});
// Theme changes swap the body's class: rebuild the chart with the new colours.
new MutationObserver(() => histogram.restyle()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

persist();
vscode.postMessage({ type: 'ready' });
