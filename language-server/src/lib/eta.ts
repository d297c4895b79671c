// Seconds left in a run from its logged steps and elapsed times: the Runs view's and the status bar's ETA.
// Pure: no I/O.

/**
 * Seconds left, from the pace over the last `window` logged steps (the whole run when shorter);
 * null before two points or when the run is done.
 */
export function estimateEtaS(steps: readonly number[], elapsedS: readonly number[], totalSteps: number, window = 50): number | null {
  const n = steps.length;
  if (n === 0 || totalSteps <= 0) return null;
  const last = steps[n - 1];
  if (last >= totalSteps) return 0;
  const first = n > window ? n - 1 - window : 0;
  let stepsDone = last - steps[first];
  let seconds = elapsedS[n - 1] - elapsedS[first];
  if (n === 1 || stepsDone <= 0) {
    stepsDone = last;
    seconds = elapsedS[n - 1];
  }
  if (!(stepsDone > 0) || !(seconds > 0)) return null;
  return ((totalSteps - last) * seconds) / stepsDone;
}
