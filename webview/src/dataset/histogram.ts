// The token-length histogram of the dataset panel: uPlot bars (one per inspect-data bin), a dashed
// line at max_seq_length, theme colours; the box carries data-chart="length-histogram" and data-points.
import uPlot from 'uplot';
import { themedAxis, themeColor } from '../dashboard/charts';
import type { HistogramView } from './view-model';

const HEIGHT = 240;
/** Tick steps of both axes: token lengths and example counts are whole numbers. */
const WHOLE_STEPS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 1e4, 2e4, 2.5e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7,
];

export class LengthHistogram {
  private plot: uPlot | undefined;
  private view: HistogramView | undefined;
  private readonly observer = new ResizeObserver(() => this.resize());
  readonly box: HTMLElement;

  constructor(host: HTMLElement) {
    this.box = document.createElement('section');
    this.box.className = 'chart';
    this.box.dataset.chart = 'length-histogram';
    const title = document.createElement('h3');
    title.textContent = 'Token length per example';
    this.box.append(title);
    host.append(this.box);
    this.observer.observe(this.box);
  }

  /** (Re)builds the chart: new data, or a theme change (colours are read when building). */
  render(view: HistogramView): void {
    this.view = view;
    this.plot?.destroy();
    const bar = themeColor('--vscode-charts-blue', '#3794ff');
    const limit = themeColor('--vscode-charts-red', '#f14c4c');
    const axis = (label: string, size?: number): uPlot.Axis => themedAxis({ label, incrs: WHOLE_STEPS, ...(size ? { size } : {}) });
    const bars = uPlot.paths.bars!({ size: [0.9, Infinity], align: 0 });
    const drawLimit = (u: uPlot) => {
      const x = Math.round(u.valToPos(view.maxSeqLength, 'x', true));
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = limit;
      ctx.fillStyle = limit;
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `${11 * devicePixelRatio}px sans-serif`;
      ctx.textAlign = x > u.bbox.left + u.bbox.width / 2 ? 'right' : 'left';
      ctx.fillText(` max_seq_length ${view.maxSeqLength} `, x, u.bbox.top + 12 * devicePixelRatio);
      ctx.restore();
    };
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        scales: {
          x: { time: false, range: () => [view.min - view.width / 2, view.max + view.width / 2] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        },
        axes: [axis('tokens'), axis('examples', 56)],
        series: [
          { label: 'tokens', value: (_u, v) => (v == null ? '—' : (view.labels[view.x.indexOf(v)] ?? String(v))) },
          {
            label: 'examples',
            stroke: bar,
            fill: /^#[0-9a-f]{6}$/i.test(bar) ? `${bar}99` : bar,
            width: 1,
            paths: bars,
            points: { show: false },
          },
        ],
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
        hooks: { draw: [drawLimit] },
      },
      [view.x, view.counts],
      this.box,
    );
    this.box.dataset.points = String(view.counts.length);
    this.box.dataset.maxSeqLength = String(view.maxSeqLength);
    this.box.dataset.counts = view.counts.join(',');
  }

  /** Rebuilds with the current theme's colours. */
  restyle(): void {
    if (this.view) this.render(this.view);
  }

  private width(): number {
    return Math.max(240, (this.box.clientWidth || document.body.clientWidth - 40) - 8);
  }

  private resize(): void {
    if (this.plot && Math.abs(this.plot.width - this.width()) > 1) this.plot.setSize({ width: this.width(), height: HEIGHT });
  }
}
