// Display helpers for estimates: decimal bytes (GB = 1e9, as the article's torch.cuda.max_memory_allocated()
// / 1e9) and durations.

/** '21.33 GB', '412.5 MB', '96.0 kB', '12 B' */
export function formatBytes(bytes: number): string {
  const units: Array<[number, string, number]> = [[1e12, 'TB', 2], [1e9, 'GB', 2], [1e6, 'MB', 1], [1e3, 'kB', 1]];
  for (const [size, unit, digits] of units) if (Math.abs(bytes) >= size) return `${(bytes / size).toFixed(digits)} ${unit}`;
  return `${Math.round(bytes)} B`;
}

/** '1.85 h', '12.4 min', '38 s' */
export function formatDuration(seconds: number): string {
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(2)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}
