// The comparison panel's uPlot charts: score vs peak memory and score vs training time (one point per
// run, the Pareto front drawn), and the train loss of the selected runs overlaid (EMA smoothing,
// step / tokens / time on x). Theme colours; each chart box carries data-series and data-points.
import uPlot from 'uplot';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';
import { costPoints, paretoFront, taskHigherIsBetter, type CostAxis } from '../../../language-server/src/lib/compare/pareto';
import type { CompareTable } from '../../../language-server/src/lib/compare/table';
import { debiasedEma } from '../metrics';
import { themedAxis, themeColor } from '../dashboard/charts';
import type { CurveAxis } from './protocol';

export interface LossCurve {
  label: string;
  step: number[];
  tokens: number[];
  elapsedS: number[];
  loss: number[];
}

const PALETTE = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];
const FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];

function colour(i: number): string {
  return themeColor(`--vscode-charts-${PALETTE[i % PALETTE.length]}`, FALLBACK[i % FALLBACK.length]);
}

function axes(xLabel: string, xFormat: (v: number) => string, yFormat: (v: number) => string): uPlot.Axis[] {
  const axis = (label: string | undefined, format: (v: number) => string, size?: number): uPlot.Axis =>
    themedAxis({ label, values: (_u, ticks) => ticks.map(format), ...(size ? { size } : {}) });
  return [axis(xLabel, xFormat), axis(undefined, yFormat, 64)];
}

/** One chart box: a title, a uPlot, data-series / data-points; rebuilt on every draw (few points). */
class ChartBox {
  readonly box: HTMLElement;
  private plot: uPlot | undefined;

  constructor(host: HTMLElement, series: string, title: string) {
    this.box = document.createElement('section');
    this.box.className = 'chart';
    this.box.dataset.series = series;
    const heading = document.createElement('h3');
    heading.textContent = title;
    this.box.append(heading);
    host.append(this.box);
  }

  draw(
    options: Omit<uPlot.Options, 'width' | 'height'>,
    data: uPlot.AlignedData,
    points: number,
    extra: Record<string, string> = {},
  ): void {
    this.plot?.destroy();
    this.box.dataset.points = String(points);
    for (const [key, value] of Object.entries(extra)) this.box.dataset[key] = value;
    const width = Math.max(240, (this.box.clientWidth || 420) - 8);
    this.plot = new uPlot({ ...options, width, height: 220 }, data, this.box);
  }

  resize(): void {
    const width = this.box.clientWidth;
    if (this.plot && width > 0 && Math.abs(this.plot.width - Math.max(240, width - 8)) > 1)
      this.plot.setSize({ width: Math.max(240, width - 8), height: 220 });
  }
}

const COST: Record<CostAxis, { series: string; title: string; label: string; format: (v: number) => string }> = {
  peak: { series: 'score-vs-memory', title: 'Score vs peak memory', label: 'peak memory', format: (v) => formatBytes(v) },
  time: { series: 'score-vs-time', title: 'Score vs training time', label: 'training time', format: (v) => formatDuration(v) },
};

export class CompareCharts {
  private readonly cost: Record<CostAxis, ChartBox>;
  private readonly loss: ChartBox;

  constructor(host: HTMLElement) {
    this.cost = {
      peak: new ChartBox(host, COST.peak.series, COST.peak.title),
      time: new ChartBox(host, COST.time.series, COST.time.title),
    };
    this.loss = new ChartBox(host, 'loss-curves', 'Train loss of the selected runs');
    new ResizeObserver(() => this.resize()).observe(host);
  }

  draw(table: CompareTable, task: string | null, curves: LossCurve[], smoothing: number, xAxis: CurveAxis): void {
    for (const axis of ['peak', 'time'] as CostAxis[]) this.drawCost(axis, table, task);
    this.drawLoss(curves, smoothing, xAxis);
  }

  private drawCost(axis: CostAxis, table: CompareTable, task: string | null): void {
    const spec = COST[axis];
    const points = task ? costPoints(table, task, axis).sort((a, b) => a.x - b.x) : [];
    const front = new Set(task ? paretoFront(points, taskHigherIsBetter(table, task)).map((p) => p.run) : []);
    const blue = colour(0);
    const orange = colour(1);
    const data: uPlot.AlignedData = [
      points.map((p) => p.x),
      points.map((p) => p.score),
      points.map((p) => (front.has(p.run) ? p.score : null)),
    ];
    this.cost[axis].draw(
      {
        scales: { x: { time: false } },
        axes: axes(spec.label, spec.format, (v) => v.toFixed(3)),
        series: [
          { label: spec.label, value: (_u, v) => (v == null ? '—' : spec.format(v)) },
          {
            label: task ?? 'score',
            stroke: blue,
            fill: blue,
            paths: () => null,
            points: { show: true, size: 8, stroke: blue, fill: blue },
            value: (_u, v) => (v == null ? '—' : v.toFixed(4)),
          },
          {
            label: 'Pareto front',
            stroke: orange,
            width: 2,
            spanGaps: true,
            points: { show: true, size: 10, stroke: orange, fill: 'transparent' },
          },
        ],
        legend: { live: true },
      },
      data,
      points.length,
      { front: String(front.size), task: task ?? '', runs: points.map((p) => p.run).join(',') },
    );
  }

  private drawLoss(curves: LossCurve[], smoothing: number, xAxis: CurveAxis): void {
    const xs = curves.map((c) => (xAxis === 'step' ? c.step : xAxis === 'tokens' ? c.tokens : c.elapsedS));
    const union = [...new Set(xs.flat())].sort((a, b) => a - b);
    const index = new Map(union.map((x, i) => [x, i]));
    const ys = curves.map((curve, k) => {
      const column: (number | null)[] = union.map(() => null);
      const smooth = debiasedEma(curve.loss, smoothing);
      xs[k].forEach((x, i) => (column[index.get(x)!] = smooth[i]));
      return column;
    });
    const xFormat =
      xAxis === 'time' ? (v: number) => formatDuration(v) : (v: number) => (v >= 1e4 ? `${(v / 1e3).toFixed(0)}k` : String(v));
    this.loss.draw(
      {
        scales: { x: { time: false } },
        axes: axes(xAxis === 'time' ? 'wall time' : xAxis, xFormat, (v) => v.toPrecision(3)),
        series: [
          { label: xAxis, value: (_u, v) => (v == null ? '—' : xFormat(v)) },
          ...curves.map((curve, i) => ({
            label: curve.label,
            stroke: colour(i),
            width: 2,
            spanGaps: true,
            value: (_u: uPlot, v: number) => (v == null ? '—' : v.toPrecision(4)),
          })),
        ],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
      },
      [union, ...ys] as uPlot.AlignedData,
      curves.reduce((sum, c) => sum + c.loss.length, 0),
      { runs: String(curves.length) },
    );
  }

  resize(): void {
    this.cost.peak.resize();
    this.cost.time.resize();
    this.loss.resize();
  }
}
