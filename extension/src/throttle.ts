// Coalesces bursts of change notifications (file watcher events, trainer steps) into at most one
// call per interval, always running once more after the last request (so no update is lost).

export class Coalescer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRunMs = 0;

  /** fn runs at most once per intervalMs, at least debounceMs after the first request of a burst. */
  constructor(
    private readonly fn: () => void,
    private readonly intervalMs = 100,
    private readonly debounceMs = 50,
  ) {}

  request(): void {
    if (this.timer) return;
    const wait = Math.max(this.debounceMs, this.lastRunMs + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastRunMs = Date.now();
      this.fn();
    }, wait);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
