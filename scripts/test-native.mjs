// Builds (if needed) and runs the native ctest programs. Uses the cmake-js build in build/native
// when present; otherwise configures a plain-CMake build in build/ctest (no Node headers needed).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
let buildDir = join(root, 'build/native');
if (!existsSync(join(buildDir, 'CTestTestfile.cmake'))) {
  buildDir = join(root, 'build/ctest');
  run('cmake', ['-S', 'native', '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', `-DLORALAB_CUDA=${process.env.LORALAB_CUDA ?? 'AUTO'}`]);
}
run('cmake', ['--build', buildDir, '--parallel', String(availableParallelism())]);
run('ctest', ['--test-dir', buildDir, '--output-on-failure', ...process.argv.slice(2)]);
