// Benchmark of the estimator against the engine (a Node script beside the other benchmarks, run by
// `npm run bench`): runs the measured configs on the engine and prints predicted vs engine peak vs
// VmHWM-baseline per config, then `lora-lab calibrate` (one thread) and the predicted step time vs
// the measured one per config with its error. Run: npx tsx test/bench/estimator.ts [DIR] [--no-default]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrateCommand } from '../../native/trainer/commands/calibrate';
import { loadavg } from 'node:os';
import { errorTable, MEASURED_CASES, measureCases, timeRows, timeTable } from '../unit/estimator/measure';
import type { Calibration } from '../../language-server/src/estimator';

/** lora-lab calibrate on one thread (the measured children's count), cached under DIR, not the user's cache. */
async function calibrateOneThread(dir: string): Promise<Calibration | null> {
  process.env.XDG_CACHE_HOME = join(dir, 'cache');
  process.env.LORALAB_THREADS = '1';
  let stdout = '';
  const status = await calibrateCommand.run(['--json'], { stdout: (t) => (stdout += t), stderr: (t) => process.stderr.write(t) });
  return status === 0 ? (JSON.parse(stdout) as Calibration) : null;
}

async function main(): Promise<void> {
  const dir = process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? mkdtempSync(join(tmpdir(), 'loralab-estimator-bench-'));
  const started = Date.now();
  const rows = await measureCases(dir, MEASURED_CASES, 'engine-fix', 6); // 5 timed steps per config: the fastest is the step time
  process.stdout.write(`glibc mmap threshold pinned at 128 KiB (the proposed engine fix; what the test asserts):\n${errorTable(rows)}\n\n`);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const calibrationStarted = Date.now();
  const loadBefore = load();
  const calibration = await calibrateOneThread(dir);
  if (calibration) {
    const seconds = ((Date.now() - calibrationStarted) / 1000).toFixed(1);
    process.stdout.write(
      `lora-lab calibrate (1 thread, ${seconds} s, load ${loadBefore}): fit within ${(100 * ((calibration as { fitError?: number }).fitError ?? 0)).toFixed(1)}% on its own runs\n`,
    );
    process.stdout.write(
      `step time, the live estimate with that calibration vs the engine (1 thread; error against the step's CPU time, ` +
        `which a loaded machine does not stretch; wall/cpu > 1 shows the load; load now ${load()}):\n${timeTable(timeRows(rows, calibration))}\n\n`,
    );
  }
  if (!process.argv.includes('--no-default')) {
    const asIs = await measureCases(dir, MEASURED_CASES, 'default');
    process.stdout.write(`glibc defaults (the engine as it is; freed loader temporaries stay resident):\n${errorTable(asIs)}\n`);
  }
  process.stdout.write(`(MB = 1e6 bytes; models in ${dir}; ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
