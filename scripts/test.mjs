// `npm test`: rebuild the addon and bundles if stale (tests spawn dist/cli.js), type check, lint, format check (prettier), TypeScript unit
// tests (node:test) and native tests (ctest), in that order; runs every stage, fails if any failed.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stages = [
  ['native build', [process.execPath, 'scripts/build-native.mjs']],
  ['bundles', [process.execPath, 'scripts/build.mjs']],
  ['typecheck', ['npx', 'tsc', '--noEmit', '-p', '.']],
  ['lint', ['npx', 'eslint', '--max-warnings', '0', '.']],
  ['format', ['npx', 'prettier', '--check', '**/*.{ts,mjs}']],
  ['unit tests', [process.execPath, 'scripts/test-ts.mjs']],
  ['native tests', [process.execPath, 'scripts/test-native.mjs']],
];
const failed = [];
for (const [name, [cmd, ...args]] of stages) {
  console.log(`\n=== ${name}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  console.log(`=== ${name}: ${r.status === 0 ? 'ok' : 'FAILED'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (r.status !== 0) failed.push(name);
}
if (failed.length) {
  console.error(`\nnpm test failed: ${failed.join(', ')}`);
  process.exit(1);
}
