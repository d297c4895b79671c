// A time budget for an analysis: the language server gives parse and sweep expansion a deadline
// and reports "config too large to analyse" instead of blocking the editor when it passes.

/** When the work must stop; `now` is the clock (performance.now by default, a counter in tests). */
export interface Deadline {
  budgetMs: number;
  at: number;
  now: () => number;
}

/** Thrown at a checkpoint after the deadline passed; analyzeConfig turns it into one problem. */
export class DeadlineExceeded extends Error {
  constructor(readonly budgetMs: number) {
    super(`the analysis took longer than its budget of ${budgetMs} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/** A deadline `budgetMs` from now on `now`'s clock. */
export function deadlineIn(budgetMs: number, now: () => number = () => performance.now()): Deadline {
  return { budgetMs, at: now() + budgetMs, now };
}

/** Throws DeadlineExceeded when `deadline` has passed; nothing without a deadline. */
export function checkDeadline(deadline: Deadline | undefined): void {
  if (deadline && deadline.now() > deadline.at) throw new DeadlineExceeded(deadline.budgetMs);
}
