// What `lora-lab eval` prints: the progress line (requests/s, ETA) and the summary table in
// lm-eval's markdown layout (task, version, n-shot, metric, value, stderr).
import { meanStderr, type TaskScores } from '../../../language-server/src/eval';
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

export function summaryTable(tasks: TaskScores[]): string {
  const rows = tasks.map((t) => {
    const { mean, stderr } = meanStderr(t.metrics);
    return [
      t.task.name,
      t.task.version,
      String(t.numFewshot),
      t.task.metric === 'mc2' ? 'acc (mc2)' : 'acc',
      mean.toFixed(4),
      stderr === null ? 'N/A' : stderr.toFixed(4),
      String(t.docs.length),
    ];
  });
  const header = ['Task', 'Version', 'n-shot', 'Metric', 'Value', 'Stderr', 'n'];
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
