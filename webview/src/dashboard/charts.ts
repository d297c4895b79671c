// The dashboard's uPlot charts: loss (raw faint, smoothed, val), learning rate, tokens/s, gradient
// norm and memory (peak and in use, scaled to the run's own peak; the device's total is text in the
// title); series data built from MetricsColumns, colours from the theme.
import uPlot from 'uplot';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';
import { debiasedEma, downsampleIndices, joinSeries, pick, type MetricsColumns } from '../metrics';
import type { XAxis } from '../protocol';

/** Points drawn per series at most (min/max downsampling keeps the spikes). */
export const MAX_POINTS = 2000;

export interface ChartOptions {
  xAxis: XAxis;
  logY: boolean;
  smoothing: number;
  capacityBytes?: number;
}

type Data = uPlot.AlignedData;

/** A theme colour (a `--vscode-*` variable), with a fallback for when it is not set. */
export function themeColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(name).trim();
  return value || fallback;
}

/** A uPlot axis in the theme: labels in the foreground colour, grid and ticks in the widget border colour. */
export function themedAxis(axis: uPlot.Axis): uPlot.Axis {
  const grid = themeColor('--vscode-editorWidget-border', '#454545');
  return {
    stroke: themeColor('--vscode-foreground', '#cccccc'),
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    ...axis,
  };
}

function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{6})$/i.exec(color);
  if (!hex) return color;
  return `#${hex[1]}${Math.round(alpha * 255)
    .toString(16)
    .padStart(2, '0')}`;
}

function formatX(axis: XAxis, value: number): string {
  if (axis === 'time') return formatDuration(value);
  if (axis === 'tokens')
    return value >= 1e6 ? `${(value / 1e6).toFixed(1)}M` : value >= 1e3 ? `${(value / 1e3).toFixed(0)}k` : String(value);
  return String(value);
}

const X_LABEL: Record<XAxis, string> = { step: 'step', tokens: 'tokens', time: 'wall time' };

/** Loss chart data: [x, raw, smoothed, val], downsampled, val joined on the union of x. */
export function lossData(columns: MetricsColumns, options: ChartOptions): Data {
  const x = columns.xOf(options.xAxis);
  const smooth = debiasedEma(columns.loss, options.smoothing);
  const idx = downsampleIndices(columns.loss, MAX_POINTS);
  const joined = joinSeries(pick(x, idx), [pick(columns.loss, idx), pick(smooth, idx)], columns.valX(options.xAxis), columns.valLoss);
  return [joined.x, ...joined.a, joined.b] as Data;
}

export function simpleData(columns: MetricsColumns, axis: XAxis, ys: number[]): Data {
  const idx = downsampleIndices(ys, MAX_POINTS);
  return [pick(columns.xOf(axis), idx), pick(ys, idx)] as Data;
}

/** Memory chart data: [x, peak so far, in use] (in use null where the run did not log it), on the peak's downsampling. */
export function memoryData(columns: MetricsColumns, axis: XAxis): Data {
  const idx = downsampleIndices(columns.peakBytes, MAX_POINTS);
  return [pick(columns.xOf(axis), idx), pick(columns.peakBytes, idx), idx.map((i) => columns.currentBytes[i] ?? null)] as Data;
}

/** The memory axis: from 0 to a little above the run's own peak, never to the device's capacity (a flat line at the bottom). */
export function memoryRange(peakBytes: readonly number[]): [number, number] {
  let peak = 0;
  for (const bytes of peakBytes) if (bytes > peak) peak = bytes;
  return [0, peak > 0 ? peak * 1.1 : 1];
}

/** Points each chart holds: every train line, or for the gradient norm the lines with a finite norm. */
export function chartPoints(id: string, columns: MetricsColumns): number {
  if (id === 'grad-norm') return columns.gradNorm.filter((norm) => Number.isFinite(norm)).length;
  return columns.step.length;
}

interface ChartSpec {
  /** data-series of the chart's element (the e2e test reads 'train-loss' and its data-points). */
  id: string;
  title: string;
  series: uPlot.Series[];
  yFormat: (v: number) => string;
  log?: boolean;
  /** A y range from the data, read on every redraw (the memory chart's 0 .. own peak); uPlot's auto range otherwise. */
  yRange?: (columns: MetricsColumns) => [number, number];
  data: (columns: MetricsColumns, options: ChartOptions) => Data;
}

function specs(options: ChartOptions): ChartSpec[] {
  const blue = themeColor('--vscode-charts-blue', '#3794ff');
  const orange = themeColor('--vscode-charts-orange', '#d18616');
  const green = themeColor('--vscode-charts-green', '#89d185');
  const purple = themeColor('--vscode-charts-purple', '#b180d7');
  const red = themeColor('--vscode-charts-red', '#f14c4c');
  const lossFmt = (v: number) => (v == null ? '—' : v.toPrecision(4));
  return [
    {
      id: 'train-loss',
      title: 'Loss',
      log: options.logY,
      yFormat: lossFmt,
      series: [
        { label: 'train (raw)', stroke: withAlpha(blue, 0.3), width: 1, value: (_u, v) => lossFmt(v) },
        { label: `train (EMA ${options.smoothing.toFixed(2)})`, stroke: blue, width: 2, value: (_u, v) => lossFmt(v) },
        { label: 'val', stroke: orange, width: 2, spanGaps: true, points: { show: true, size: 6 }, value: (_u, v) => lossFmt(v) },
      ],
      data: lossData,
    },
    {
      id: 'lr',
      title: 'Learning rate',
      yFormat: (v) => v.toExponential(1),
      series: [{ label: 'lr', stroke: purple, width: 2, value: (_u, v) => (v == null ? '—' : v.toExponential(3)) }],
      data: (c, o) => simpleData(c, o.xAxis, c.lr),
    },
    {
      id: 'tps',
      title: 'Tokens / s',
      yFormat: (v) => v.toFixed(0),
      series: [{ label: 'tokens/s', stroke: green, width: 2, value: (_u, v) => (v == null ? '—' : v.toFixed(1)) }],
      data: (c, o) => simpleData(c, o.xAxis, c.tokensPerS),
    },
    {
      id: 'grad-norm',
      title: 'Gradient norm',
      yFormat: (v) => (v == null ? '—' : v.toPrecision(3)),
      series: [{ label: 'grad norm', stroke: red, width: 2, value: (_u, v) => (v == null ? '—' : v.toPrecision(4)) }],
      data: (c, o) => simpleData(c, o.xAxis, c.gradNorm),
    },
    {
      id: 'memory',
      title: `Memory${options.capacityBytes ? ` (device total ${formatBytes(options.capacityBytes)})` : ''}`,
      yFormat: (v) => formatBytes(v),
      series: [
        { label: 'peak so far', stroke: orange, width: 2, value: (_u, v) => (v == null ? '—' : formatBytes(v)) },
        { label: 'in use', stroke: green, width: 1, value: (_u, v) => (v == null ? '—' : formatBytes(v)) },
      ],
      yRange: (c) => memoryRange(c.peakBytes),
      data: (c, o) => memoryData(c, o.xAxis),
    },
  ];
}

/** The charts of one dashboard; rebuilt when the axis, log scale or theme changes. */
export class Charts {
  private plots: { spec: ChartSpec; plot: uPlot; box: HTMLElement }[] = [];
  /** Fits each plot to its box whenever the box's size is known or changes (a rebuild during a
   * theme switch can measure a box before the grid is laid out). */
  private readonly boxObserver = new ResizeObserver(() => this.resize());

  constructor(private readonly host: HTMLElement) {}

  build(options: ChartOptions, columns: MetricsColumns): void {
    this.destroy();
    for (const spec of specs(options)) {
      const box = document.createElement('section');
      box.className = 'chart';
      box.dataset.series = spec.id;
      const title = document.createElement('h3');
      title.textContent = spec.title;
      box.append(title);
      this.host.append(box);
      const axis = (label?: string, values?: uPlot.Axis['values'], size?: number): uPlot.Axis =>
        themedAxis({ label, values, ...(size ? { size } : {}) });
      const plot = new uPlot(
        {
          width: Math.max(200, box.clientWidth || this.host.clientWidth / 2 - 24),
          height: 220,
          scales: { x: { time: false }, y: spec.log ? { distr: 3 } : spec.yRange ? { range: () => spec.yRange!(columns) } : {} },
          axes: [
            axis(X_LABEL[options.xAxis], (_u, ticks) => ticks.map((t) => formatX(options.xAxis, t))),
            axis(undefined, (_u, ticks) => ticks.map(spec.yFormat), 72),
          ],
          series: [{ label: X_LABEL[options.xAxis], value: (_u, v) => (v == null ? '—' : formatX(options.xAxis, v)) }, ...spec.series],
          legend: { live: true },
          cursor: { drag: { x: true, y: false } },
        },
        spec.data(columns, options),
        box,
      );
      this.plots.push({ spec, plot, box });
      this.boxObserver.observe(box);
    }
    this.mark(columns);
  }

  update(options: ChartOptions, columns: MetricsColumns): void {
    for (const { spec, plot } of this.plots) plot.setData(spec.data(columns, options));
    this.mark(columns);
  }

  /** data-points: the train points each chart holds (drawn downsampled past MAX_POINTS). */
  private mark(columns: MetricsColumns): void {
    for (const { spec, box } of this.plots) box.dataset.points = String(chartPoints(spec.id, columns));
  }

  resize(): void {
    for (const { plot, box } of this.plots) {
      const width = box.clientWidth;
      if (width > 0 && Math.abs(plot.width - Math.max(200, width - 8)) > 1) plot.setSize({ width: Math.max(200, width - 8), height: 220 });
    }
  }

  destroy(): void {
    this.boxObserver.disconnect();
    for (const { plot } of this.plots) plot.destroy();
    this.plots = [];
    this.host.replaceChildren();
  }
}
