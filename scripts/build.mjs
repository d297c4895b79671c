// One esbuild script for every bundle: extension host, language server, trainer/CLI (Node, CJS)
// and the webview scripts (browser, IIFE). `vscode` and the native addon stay external.
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const node = { platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', '*.node'] };
const browser = { platform: 'browser', format: 'iife', target: 'es2022' };
/** [entry, output, options]; entries that do not exist yet are skipped with a note. */
const bundles = [
  ['extension/src/extension.ts', 'dist/extension.js', node],
  ['language-server/src/server.ts', 'dist/server.js', node],
  ['native/trainer/cli.ts', 'dist/cli.js', node], // the source's #! line is kept
  ['webview/src/dashboard/main.ts', 'dist/webview/dashboard.js', browser],
  ['webview/src/dataset/main.ts', 'dist/webview/dataset.js', browser],
  ['webview/src/chat/main.ts', 'dist/webview/chat.js', browser],
  ['webview/src/compare/main.ts', 'dist/webview/compare.js', browser],
];

mkdirSync(join(root, 'dist'), { recursive: true });
const contexts = [];
for (const [entry, outfile, options] of bundles) {
  if (!existsSync(join(root, entry))) {
    console.log(`build: skipping ${entry} (not written yet)`);
    continue;
  }
  const ctx = await esbuild.context({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    sourcemap: production ? false : 'linked',
    minify: production,
    logLevel: 'warning',
    ...options,
  });
  contexts.push(ctx);
  if (watch) await ctx.watch();
  else await ctx.rebuild();
  console.log(`build: ${outfile}`);
}
if (existsSync(join(root, 'dist/cli.js'))) chmodSync(join(root, 'dist/cli.js'), 0o755);
if (!watch) await Promise.all(contexts.map((c) => c.dispose()));
