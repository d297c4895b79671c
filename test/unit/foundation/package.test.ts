// `npm run package` yields a VSIX whose files are exactly what the extension needs: the bundles,
// the addon, media, the bundled example workspace and the evaluation data (as tracked by git),
// nothing else.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { zipEntryNames } from '../helpers/zip';

const root = join(__dirname, '../../..');

function tracked(...paths: string[]): string[] {
  const out = execFileSync('git', ['ls-files', '--', ...paths], { cwd: root, encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

test('the VSIX holds exactly the bundles, the addon, media, examples and eval data', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lora-lab-vsix-'));
  try {
    const vsix = join(dir, 'lora-lab.vsix');
    execFileSync(process.execPath, ['scripts/package.mjs', '--no-build', '--out', vsix], { cwd: root, stdio: 'pipe' });
    const names = zipEntryNames(vsix);
    const files = names
      .filter((n) => n.startsWith('extension/'))
      .map((n) => n.slice('extension/'.length))
      .sort();
    const expected = [
      'package.json',
      'LICENSE.txt',
      'dist/extension.js',
      'dist/cli.js',
      'dist/native/loralab.node',
      ...(existsSync(join(root, 'README.md')) ? ['readme.md'] : []),
      ...(existsSync(join(root, 'language-server/src/server.ts')) ? ['dist/server.js'] : []),
      ...(existsSync(join(root, 'webview/src/dashboard/main.ts')) ? ['dist/webview/dashboard.js'] : []),
      ...(existsSync(join(root, 'webview/src/chat/main.ts')) ? ['dist/webview/chat.js'] : []),
      ...(existsSync(join(root, 'dist/webview/dashboard.css')) ? ['dist/webview/dashboard.css'] : []),
      ...(existsSync(join(root, 'webview/src/dataset/main.ts')) ? ['dist/webview/dataset.js', 'dist/webview/dataset.css'] : []),
      ...(existsSync(join(root, 'webview/src/compare/main.ts')) ? ['dist/webview/compare.js', 'dist/webview/compare.css'] : []),
      ...tracked('media'),
      ...tracked('examples/tiny-llama', 'examples/data'),
      ...tracked('examples/*.lora.yaml'),
      ...tracked('examples/article/*.task.yaml'),
      ...tracked('language-server/eval-data'),
    ].sort();
    assert.deepEqual(files, [...new Set(expected)].sort());
    assert.ok(!files.some((f) => f.endsWith('.map') || f.endsWith('.ts')), 'no sources or source maps');
    assert.ok(names.includes('extension.vsixmanifest'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
