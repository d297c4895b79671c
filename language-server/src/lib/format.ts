// The one home of display formatting shared by the CLI, the code lens, the host's Runs view and the
// webviews: bytes in binary units (KiB, MiB, GiB: what the engine's buffers and RSS are), durations,
// losses and parameter counts. Pure: no I/O, no DOM, safe in the browser bundle.

/** "512 B", "1.50 KiB", "15.7 MiB", "1.50 GiB", "245 GiB" (three significant digits); '—' when unknown. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const magnitude = Math.abs(value);
  return `${value.toFixed(magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** "1h 02m", "3m 05s", "12s", "0.4s" (under ten seconds with a tenth); '—' when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(seconds < 0.05 ? 0 : 1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** A loss for display: 4 significant digits; '—' when unknown. */
export function formatLoss(loss: number | null | undefined): string {
  return loss === null || loss === undefined || !Number.isFinite(loss) ? '—' : loss.toPrecision(4);
}

/** '6,738,415,616' */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

/** '6.74B', '4.19M', '20.3K', '812' */
export function formatCompact(count: number): string {
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, suffix] of units) if (Math.abs(count) >= size) return `${Number((count / size).toPrecision(3))}${suffix}`;
  return String(Math.round(count));
}

/** Share of trainable parameters as a percentage with 3 significant digits: '0.0622%'. */
export function formatShare(trainable: number, total: number): string {
  if (total <= 0) return '?';
  return `${Number(((100 * trainable) / total).toPrecision(3))}%`;
}
