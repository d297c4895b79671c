// The queue's scheduling rule, pure: queued runs start in order, at most `maxPerDevice` at once on
// one device; a run whose device is busy waits without blocking runs for other devices.

export interface Scheduled {
  /** 'cpu', 'cuda:N', or 'auto' (resolved by the trainer, so it shares every device). */
  device: string;
}

export function devicesShare(a: string, b: string): boolean {
  return a === b || a === 'auto' || b === 'auto';
}

/** The queued entries that may start now, in queue order. */
export function startable<T extends Scheduled>(queued: readonly T[], active: readonly Scheduled[], maxPerDevice: number): T[] {
  const limit = Math.max(1, Math.floor(maxPerDevice));
  const running: Scheduled[] = [...active];
  const picked: T[] = [];
  for (const entry of queued) {
    const busy = running.filter((r) => devicesShare(r.device, entry.device)).length;
    if (busy < limit) {
      picked.push(entry);
      running.push(entry);
    }
  }
  return picked;
}
