// Benchmark (a Node script, not part of the pure estimator): runs the measured configs on the engine and
// prints predicted vs engine peak vs VmHWM-baseline per config. Run: npx tsx language-server/src/estimator/bench.ts [DIR] [--no-default]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorTable, MEASURED_CASES, measureCases } from '../../../test/unit/estimator/measure';

async function main(): Promise<void> {
  const dir = process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? mkdtempSync(join(tmpdir(), 'loralab-estimator-bench-'));
  const started = Date.now();
  const rows = await measureCases(dir, MEASURED_CASES, 'engine-fix');
  process.stdout.write(`glibc mmap threshold pinned at 128 KiB (the proposed engine fix; what the test asserts):\n${errorTable(rows)}\n\n`);
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
