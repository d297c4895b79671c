// The score-vs-cost charts' data, pure: one point per run that has both a measured cost (peak memory
// or training time) and a score of the chosen task, and the Pareto front (no other point is both
// cheaper and better).
import type { CompareRow, CompareTable } from './table';

export interface CostPoint {
  /** The run folder's name. */
  run: string;
  /** Cost: lower is better. */
  x: number;
  score: number;
}

export type CostAxis = 'peak' | 'time';

/** One point per run row with the cost and the task's score. */
export function costPoints(table: CompareTable, task: string, axis: CostAxis): CostPoint[] {
  const points: CostPoint[] = [];
  for (const row of table.rows) {
    if (row.kind !== 'run' || !row.run) continue;
    const x = row.cells[axis]?.value;
    const score = row.cells[`score:${task}`]?.value;
    if (x != null && score != null && Number.isFinite(x) && Number.isFinite(score)) points.push({ run: row.run, x, score });
  }
  return points;
}

/**
 * The points no other point dominates (at most the cost and at least the score, better in one),
 * sorted by cost: the front's polyline. `higherIsBetter` false flips the score (perplexity...).
 */
export function paretoFront(points: readonly CostPoint[], higherIsBetter = true): CostPoint[] {
  const better = (a: number, b: number) => (higherIsBetter ? a > b : a < b);
  const sorted = [...points].sort((a, b) => a.x - b.x || (better(a.score, b.score) ? -1 : better(b.score, a.score) ? 1 : 0));
  const front: CostPoint[] = [];
  for (const point of sorted) {
    const last = front[front.length - 1];
    if (!last || better(point.score, last.score)) front.push(point);
  }
  return front;
}

/** Whether a task's score is better higher, from the table's column. */
export function taskHigherIsBetter(table: CompareTable, task: string): boolean {
  return table.columns.find((column) => column.key === `score:${task}`)?.better !== 'lower';
}

/** Rows of the table that are runs, by folder name. */
export function runRows(table: CompareTable): Map<string, CompareRow> {
  return new Map(table.rows.filter((row) => row.kind === 'run' && row.run).map((row) => [row.run!, row]));
}
