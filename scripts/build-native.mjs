// Builds the native engine with cmake-js (Node-API only, no Node headers download) into
// build/native and copies the addon next to the bundles (dist/native/loralab.node).
// LORALAB_CUDA=AUTO|ON|OFF picks the CUDA build (AUTO: when nvcc is found).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const cuda = process.env.LORALAB_CUDA ?? 'AUTO';
const jobs = process.env.LORALAB_JOBS ?? String(Math.max(1, (await import('node:os')).availableParallelism()));

const args = [
  cmakeJs,
  'compile',
  '--directory',
  'native',
  '--out',
  'build/native',
  '--config',
  'Release',
  `--CDLORALAB_CUDA=${cuda}`,
  '--parallel',
  jobs,
];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('native build failed: see the cmake output above (LORALAB_CUDA=OFF skips CUDA)');
  process.exit(result.status ?? 1);
}
const built = join(root, 'build/native/Release/loralab.node');
if (!existsSync(built)) {
  console.error(`native build finished but ${built} is missing`);
  process.exit(1);
}
mkdirSync(join(root, 'dist/native'), { recursive: true });
copyFileSync(built, join(root, 'dist/native/loralab.node'));
console.log('native addon: dist/native/loralab.node');
