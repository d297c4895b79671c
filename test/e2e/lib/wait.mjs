// Waiting on conditions with deadlines (never fixed sleeps): poll a probe until it returns a
// truthy value, and fail with what was awaited and the probe's last error or value.
import { setTimeout as delay } from 'node:timers/promises';

/** Thrown by a probe to stop waiting at once (the awaited state can no longer come). */
export class WaitAborted extends Error {}

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value (returned) or `timeoutMs`
 * passes (throws, naming `description`). A probe that throws counts as "not yet", unless it
 * throws WaitAborted.
 */
export async function waitFor(description, probe, { timeoutMs = 30_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = '';
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      lastProblem = '';
    } catch (err) {
      if (err instanceof WaitAborted) throw new Error(`gave up waiting for ${description}: ${err.message}`);
      lastProblem = err instanceof Error ? err.message.split('\n')[0] : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${description}${lastProblem ? ` (last error: ${lastProblem})` : ''}`,
      );
    }
    await delay(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}
