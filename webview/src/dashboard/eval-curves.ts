// The dashboard's score curves (eval.interval): one uPlot chart per task, the adapter's score at each
// evaluated step and the base model's value as a dashed line. Each chart's box carries
// data-series="eval:<task>" and data-points="<scores plotted>" (the e2e contract of the loss chart).
import uPlot from 'uplot';
import { formatScore } from '../../../language-server/src/lib/eval-scores';
import { themedAxis, themeColor } from './charts';
import type { EvalCurve } from './eval-model';

const HEIGHT = 200;

export class EvalCurveCharts {
  private plots = new Map<string, { plot: uPlot; box: HTMLElement }>();
  private shape = '';
  private readonly boxObserver = new ResizeObserver(() => this.resize());

  constructor(private readonly host: HTMLElement) {}

  /** Draws `curves` with x values `xOf(curve)`; rebuilt when the tasks, the axis or the theme change. */
  render(curves: readonly EvalCurve[], xLabel: string, xOf: (curve: EvalCurve) => number[], rebuild: boolean): void {
    const shape = `${xLabel}|${curves.map((c) => `${c.task}:${c.metric}:${c.base !== null}`).join(',')}`;
    if (rebuild || shape !== this.shape) this.build(curves, xLabel, xOf);
    else
      for (const curve of curves) {
        const entry = this.plots.get(curve.task);
        if (!entry) continue;
        entry.plot.setData(this.data(curve, xOf));
        entry.box.dataset.points = String(curve.values.length);
      }
    this.shape = shape;
    this.host.hidden = curves.length === 0;
  }

  private data(curve: EvalCurve, xOf: (curve: EvalCurve) => number[]): uPlot.AlignedData {
    const x = xOf(curve);
    const series: (number | null)[][] = [curve.values];
    if (curve.base !== null) series.push(x.map(() => curve.base));
    return [x, ...series] as uPlot.AlignedData;
  }

  private build(curves: readonly EvalCurve[], xLabel: string, xOf: (curve: EvalCurve) => number[]): void {
    this.destroy();
    const green = themeColor('--vscode-charts-green', '#89d185');
    const gray = themeColor('--vscode-descriptionForeground', '#9d9d9d');
    for (const curve of curves) {
      const box = document.createElement('section');
      box.className = 'chart';
      box.dataset.series = `eval:${curve.task}`;
      box.dataset.points = String(curve.values.length);
      const title = document.createElement('h3');
      title.textContent = `${curve.task} (${curve.metric})`;
      box.append(title);
      this.host.append(box);
      const format = (v: number | null) => (v == null ? '—' : formatScore(v, curve.metric));
      const axis = (label?: string, values?: uPlot.Axis['values'], size?: number): uPlot.Axis =>
        themedAxis({ label, values, ...(size ? { size } : {}) });
      const series: uPlot.Series[] = [
        { label: xLabel },
        { label: 'adapter', stroke: green, width: 2, points: { show: true, size: 6 }, value: (_u, v) => format(v) },
      ];
      if (curve.base !== null) series.push({ label: 'base model', stroke: gray, width: 1, dash: [6, 4], value: (_u, v) => format(v) });
      const plot = new uPlot(
        {
          width: Math.max(200, box.clientWidth || this.host.clientWidth / 2 - 24),
          height: HEIGHT,
          scales: { x: { time: false } },
          axes: [axis(xLabel), axis(undefined, (_u, ticks) => ticks.map((t) => format(t)), 64)],
          series,
          legend: { live: true },
        },
        this.data(curve, xOf),
        box,
      );
      this.plots.set(curve.task, { plot, box });
      this.boxObserver.observe(box);
    }
  }

  resize(): void {
    for (const { plot, box } of this.plots.values()) {
      const width = Math.max(200, box.clientWidth - 8);
      if (box.clientWidth > 0 && Math.abs(plot.width - width) > 1) plot.setSize({ width, height: HEIGHT });
    }
  }

  destroy(): void {
    this.boxObserver.disconnect();
    for (const { plot } of this.plots.values()) plot.destroy();
    this.plots.clear();
    this.host.replaceChildren();
    this.shape = '';
  }
}
