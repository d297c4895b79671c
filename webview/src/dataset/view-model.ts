// The dataset panel's pure views of an inspect-data report: the histogram's bars and x range with
// the max_seq_length line, the summary numbers, a sample's tokens with their masking, and the
// rejected rows as links (no DOM here: unit-tested under node).
import type { DatasetIssue, DatasetReport, DatasetSample } from '../../../native/trainer/protocol';

type Bin = DatasetReport['stats']['histogram'][number];

export interface HistogramView {
  /** Bin centres (uPlot draws a bar centred on each x). */
  x: number[];
  counts: number[];
  /** Width of every bin in tokens. */
  width: number;
  /** The x range: the bins, widened to show the max_seq_length line. */
  min: number;
  max: number;
  maxSeqLength: number;
  /** Labels "from–to" (inclusive) of each bin. */
  labels: string[];
}

/** The bars of the report's histogram (the same bins as `inspect-data --json`) and the x range that holds the max_seq_length line. */
export function histogramView(histogram: readonly Bin[], maxSeqLength: number): HistogramView {
  const width = histogram.length ? histogram[0].to - histogram[0].from : 1;
  const low = histogram.length ? histogram[0].from : 0;
  const high = histogram.length ? histogram[histogram.length - 1].to : 1;
  return {
    x: histogram.map((bin) => (bin.from + bin.to) / 2),
    counts: histogram.map((bin) => bin.count),
    width,
    min: Math.min(low, maxSeqLength),
    max: Math.max(high, maxSeqLength + width / 2),
    maxSeqLength,
    labels: histogram.map((bin) => (bin.to - 1 > bin.from ? `${bin.from}–${bin.to - 1}` : String(bin.from))),
  };
}

export interface SummaryNumber {
  /** data-key of the element (the e2e test reads 'records', 'truncated', ...). */
  key: string;
  label: string;
  /** data-value: the exact number. */
  value: number;
  text: string;
}

const percent = (share: number): string => `${(100 * share).toFixed(share > 0 && share < 0.001 ? 3 : 1)}%`;

/** The summary row: record counts per split, token lengths, truncated and prompt/response shares, rejected rows. */
export function summaryNumbers(report: DatasetReport): SummaryNumber[] {
  const { dataset, stats } = report;
  const count = (n: number) => n.toLocaleString('en-US');
  return [
    { key: 'records', label: 'records', value: dataset.records, text: count(dataset.records) },
    { key: 'train', label: 'train', value: dataset.train, text: count(dataset.train) },
    { key: 'validation', label: 'validation', value: dataset.validation, text: count(dataset.validation) },
    { key: 'rejected', label: 'rejected rows', value: report.rejected.length, text: count(report.rejected.length) },
    { key: 'median-tokens', label: 'median tokens', value: stats.lengths.median, text: count(stats.lengths.median) },
    { key: 'max-tokens', label: 'longest', value: stats.lengths.max, text: count(stats.lengths.max) },
    {
      key: 'truncated',
      label: `truncated at ${report.maxSeqLength}`,
      value: stats.truncated,
      text: `${count(stats.truncated)} (${percent(stats.truncatedShare)})`,
    },
    {
      key: 'prompt-share',
      label: report.maskPrompt ? 'prompt tokens (masked)' : 'prompt tokens (not masked)',
      value: report.promptShare,
      text: percent(report.promptShare),
    },
    { key: 'response-share', label: 'response tokens', value: 1 - report.promptShare, text: percent(1 - report.promptShare) },
  ];
}

export interface TokenView {
  index: number;
  id: number;
  text: string;
  /** Takes no loss (mask_prompt's masked prefix). */
  masked: boolean;
  /** Part of the rendered prompt (masked or not). */
  prompt: boolean;
  /** Hover text: position, id and the exact piece. */
  title: string;
}

/** A sample's tokens for the browser: the first maskedTokens are masked, the first promptTokens are the prompt. */
export function sampleTokens(sample: DatasetSample): TokenView[] {
  return sample.pieces.map((text, index) => ({
    index,
    id: sample.ids[index],
    text,
    masked: index < sample.maskedTokens,
    prompt: index < sample.promptTokens,
    title: `token ${index} · id ${sample.ids[index]} · ${JSON.stringify(text)}${index < sample.maskedTokens ? ' · masked (no loss)' : ''}`,
  }));
}

/** How many tokens of a sample take loss and how many are masked. */
export function sampleCounts(sample: DatasetSample): { tokens: number; masked: number; trained: number } {
  const masked = Math.min(sample.maskedTokens, sample.ids.length);
  return { tokens: sample.ids.length, masked, trained: sample.ids.length - masked };
}

export interface RejectedRow {
  file: string;
  line: number;
  /** "alpaca.json:12" */
  location: string;
  why: string;
}

function basename(file: string): string {
  return file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
}

/** Rejected rows in file and line order, each with its link text and the reason (record and field when known). */
export function rejectedRows(rejected: readonly DatasetIssue[]): RejectedRow[] {
  return [...rejected]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)
    .map((issue) => {
      const where = [issue.record === undefined ? '' : `record ${issue.record + 1}`, issue.field ? `field '${issue.field}'` : '']
        .filter(Boolean)
        .join(', ');
      return {
        file: issue.file,
        line: issue.line,
        location: `${basename(issue.file)}:${issue.line}`,
        why: where ? `${issue.message} (${where})` : issue.message,
      };
    });
}
