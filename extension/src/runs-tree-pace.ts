// Paces the Runs view's change events. VS Code's tree view (1.100) can stop applying refreshes for
// good when element refreshes arrive while it is still loading rows it was just shown or expanded
// (seen as a Runs view frozen at step 4 while training went on). So the view gets at most one
// refresh a second, none while hidden, and none in the first second after it is shown (it fetches
// every row then anyway); what changed meanwhile is sent together afterwards. No VS Code here.

export class RefreshPacer<T> {
  private readonly pending = new Set<T>();
  private all = false;
  private visible = false;
  private holdUntilMs = 0;
  private lastFireMs = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `fire(undefined)` refreshes everything; `fire(nodes)` those rows. */
  constructor(
    private readonly fire: (nodes: T[] | undefined) => void,
    private readonly intervalMs = 1000,
    private readonly settleMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Rows that changed (undefined: the whole tree). */
  add(nodes: readonly T[] | undefined): void {
    if (nodes === undefined) this.all = true;
    else for (const node of nodes) this.pending.add(node);
    this.schedule();
  }

  setVisible(visible: boolean): void {
    if (visible && !this.visible) this.holdUntilMs = this.now() + this.settleMs;
    this.visible = visible;
    if (!visible && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.schedule();
  }

  private schedule(): void {
    if (!this.visible || this.timer || (!this.all && this.pending.size === 0)) return;
    const wait = Math.max(this.lastFireMs + this.intervalMs, this.holdUntilMs) - this.now();
    this.timer = setTimeout(() => this.flush(), Math.max(0, wait));
  }

  private flush(): void {
    this.timer = undefined;
    if (!this.visible) return;
    const nodes = this.all ? undefined : [...this.pending];
    this.all = false;
    this.pending.clear();
    this.lastFireMs = this.now();
    this.fire(nodes);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
