// The ownership table (ARCHITECTURE.md) is enforced by eslint.config.mjs: each wrong-way import below
// fails lint in the folder it is written in, and each allowed one passes (linted as if it were a file there).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = join(__dirname, '../../..');
const eslint = new ESLint({ cwd: root });

/** The import restriction messages for `code` linted as the file `path` (relative to the repository). */
async function restrictions(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = [typeof x];\n`, { filePath: join(root, path) });
  return result.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

const WRONG: Array<[file: string, code: string, why: RegExp]> = [
  ['extension/src/new.ts', "import { loadAddon as x } from '../../native/trainer/addon';", /never the native addon/i],
  ['extension/src/new.ts', "import { prepareData as x } from '../../native/trainer/data/pipeline';", /trainer internals/],
  ['extension/src/new.ts', "import { MetricsColumns as x } from '../../webview/src/metrics';", /not the webview UI/],
  ['webview/src/new.ts', "import { startRun as x } from '../../extension/src/commands/start-run';", /typed messages|protocol/],
  ['webview/src/new.ts', "import { TRAINER_EVENTS as x } from '../../native/trainer/protocol';", /types only/],
  ['webview/src/new.ts', "import { newestCalibration as x } from '../../language-server/src/lib/calibration-file';", /pure parts/],
  ['webview/src/new.ts', "import { readFileSync as x } from 'node:fs';", /no Node modules/],
  ['language-server/src/service/new.ts', "import { formatLoss as x } from '../../../webview/src/metrics';", /nothing of ours outside/],
  ['language-server/src/lib/new.ts', "import { loadAddon as x } from '../../../native/trainer/addon';", /nothing of ours outside/],
  ['language-server/src/server-part.ts', "import * as x from 'vscode';", /VS Code API/],
  ['language-server/src/estimator/new.ts', "import { readFileSync as x } from 'node:fs';", /pure/],
  ['language-server/src/config/new.ts', "import { readFileSync as x } from 'fs';", /pure/],
  ['language-server/src/estimator/new.ts', "import { computeDataFacts as x } from '../lib/data-facts';", /pure/],
  ['language-server/src/config/new.ts', "import { scanRunFolder as x } from '../lib/run-folder/reader';", /pure/],
  ['webview/src/new.ts', "import { readMetrics as x } from '../../language-server/src/lib/run-folder/reader';", /pure parts/],
  ['native/trainer/new.ts', "import { RunsStore as x } from '../../extension/src/runs-store';", /never extension\/ or webview\//],
  ['language-server/src/service/new.ts', "import { downloadModel as x } from '../lib/hub';", /never touches the network/],
  ['language-server/src/server.ts', "import * as x from 'node:https';", /never touches the network/],
  ['language-server/src/service/new.ts', "import * as x from 'vscode';", /VS Code API/],
];

const ALLOWED: Array<[file: string, code: string]> = [
  ['extension/src/new.ts', "import type { TrainerEvent as x } from '../../native/trainer/protocol';"],
  ['extension/src/new.ts', "import { isHostToWebview as x } from '../../webview/src/protocol';"],
  ['extension/src/new.ts', "import { estimate as x } from '../../language-server/src/estimator';"],
  ['webview/src/new.ts', "import type { MetricsLine as x } from '../../native/trainer/protocol';"],
  ['webview/src/new.ts', "import { formatBytes as x } from '../../language-server/src/lib/format';"],
  ['native/trainer/new.ts', "import { loadConfigFile as x } from '../../language-server/src/config/node-fs';"],
  ['language-server/src/config/node-fs.ts', "import { readFileSync as x } from 'node:fs';"],
  ['language-server/src/lib/new.ts', "import { readFileSync as x } from 'node:fs';"],
  ['language-server/src/client.ts', "import * as x from 'vscode';"],
  ['extension/src/new.ts', "import { downloadModel as x } from '../../language-server/src/lib/hub';"],
  ['native/trainer/new.ts', "import { downloadModel as x } from '../../language-server/src/lib/hub';"],
  ['language-server/src/service/new.ts', "import { parseHubRef as x } from '../config';"],
];

test('a wrong-way import fails lint in every folder of the table', async () => {
  for (const [file, code, why] of WRONG) {
    const messages = await restrictions(file, code);
    assert.equal(messages.length, 1, `${file}: ${code} -> ${JSON.stringify(messages)}`);
    assert.match(messages[0], why, `${file}: ${code}`);
  }
});

test('the imports the table allows pass', async () => {
  for (const [file, code] of ALLOWED) assert.deepEqual(await restrictions(file, code), [], `${file}: ${code}`);
});
