// What `lora-lab eval` prints: the progress line (requests/s, ETA) and the summary table in
// lm-eval's markdown layout (task, version, n-shot, metric, value, stderr).
import { headlineMetric, type TaskScores } from '../../../language-server/src/eval';
import type { EvalProgress } from './runner';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** "[#########.........] 4200/9996 requests  351.2 req/s  ETA 17s" */
export function progressLine(p: EvalProgress, width = 24): string {
  const fraction = p.total > 0 ? p.done / p.total : 1;
  const filled = Math.round(fraction * width);
  const rate = p.elapsedS > 0 ? p.done / p.elapsedS : 0;
  const eta = rate > 0 ? (p.total - p.done) / rate : Infinity;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} requests  ${rate.toFixed(1)} req/s  ETA ${p.done === p.total ? '0s' : duration(eta)}`;
}

/** lm-eval's table; with `base` (the base model's scores) two more columns: the base value and the delta. */
export function summaryTable(tasks: TaskScores[], base?: TaskScores[]): string {
  const rows = tasks.map((t) => {
    const h = headlineMetric(t);
    const row = [
      t.task.name,
      t.task.version,
      String(t.numFewshot),
      t.task.metric === 'mc2' ? 'acc (mc2)' : h.metric,
      h.value.toFixed(4),
      h.stderr === null ? 'N/A' : h.stderr.toFixed(4),
      String(t.docs.length),
    ];
    if (base) {
      const b = base.find((x) => x.task.name === t.task.name);
      const bv = b ? headlineMetric(b).value : NaN;
      const delta = h.value - bv;
      row.push(b ? bv.toFixed(4) : '-', b ? `${delta >= 0 ? '+' : ''}${delta.toFixed(4)}` : '-');
    }
    return row;
  });
  const header = ['Task', 'Version', 'n-shot', 'Metric', 'Value', 'Stderr', 'n', ...(base ? ['Base', 'Delta'] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `|${cells.map((c, i) => ` ${i >= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i])} `).join('|')}|`;
  const rule = `|${widths.map((w, i) => (i >= 4 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  const out = [line(header), rule, ...rows.map(line)];
  const truncated = tasks.filter((t) => t.truncatedRequests > 0);
  for (const t of truncated)
    out.push(
      `note: ${t.task.name}: ${t.truncatedRequests} requests were left-truncated to the model's window (up to ${t.maxTokensDropped} context tokens dropped)`,
    );
  return out.join('\n') + '\n';
}
