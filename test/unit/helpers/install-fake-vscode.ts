// Makes `require('vscode')` resolve to the in-memory fake (test/unit/helpers/fake-vscode.ts) for
// the rest of this test process. Import it before any extension module.
import Module from 'node:module';
import * as path from 'node:path';

const fakePath = path.join(__dirname, 'fake-vscode.ts');
type Resolve = (request: string, ...rest: unknown[]) => string;
const moduleWithResolve = Module as unknown as { _resolveFilename: Resolve };
const original = moduleWithResolve._resolveFilename;
moduleWithResolve._resolveFilename = function (request: string, ...rest: unknown[]) {
  if (request === 'vscode') return fakePath;
  return original.call(this, request, ...rest);
};
