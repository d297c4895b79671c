// `npm run package`: a platform-specific VSIX (linux-x64 etc., for the addon built here) from the
// production bundles, without prompts. Prints the path.
// Usage: node scripts/package.mjs [--out FILE] [--no-build (package the current dist/ as it is)]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const target = `${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch}`;
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? process.argv[outIndex + 1] : join(root, 'build', `${manifest.name}-${manifest.version}-${target}.vsix`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!existsSync(join(root, 'dist/native/loralab.node'))) run(process.execPath, ['scripts/build-native.mjs']);
if (!process.argv.includes('--no-build')) run(process.execPath, ['scripts/build.mjs', '--production']);
mkdirSync(dirname(out), { recursive: true });
const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
run(process.execPath, [vsce, 'package', '--no-dependencies', '--target', target, '--out', out, '--skip-license']);
console.log(out);
