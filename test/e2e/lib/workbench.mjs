// One e2e session: a fresh code-server (VS Code 1.100) on 127.0.0.1 with its own user-data and
// extensions dirs, the packaged VSIX installed, a copy of a fixture workspace opened, driven by
// Debian's Chromium through playwright-core; a screenshot per step; always stopped by pid.
/* global fetch */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { isAlive, trainerProcesses } from './processes.mjs';
import { modalDialogText, runCommand } from './ui.mjs';
import { waitFor } from './wait.mjs';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER_DIR =
  process.env.LORA_LAB_CODE_SERVER_DIR ?? join(homedir(), '.cache', 'lora-lab', `code-server-${CODE_SERVER_VERSION}`);
export const CHROMIUM = process.env.LORA_LAB_CHROMIUM ?? '/usr/bin/chromium';
export const OUT_ROOT = join(REPO_ROOT, '.test-out', 'e2e');
export const DEFAULT_VSIX = join(OUT_ROOT, 'lora-lab.vsix');
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'e2e');

/** Settings every session starts with: no welcome page, no tips, no updates, no telemetry. */
const BASE_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'files.autoSave': 'off',
  'editor.codeLens': true,
  'editor.hover.delay': 200,
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

function codeServerBin() {
  const bin = join(CODE_SERVER_DIR, 'node_modules', '.bin', 'code-server');
  if (!existsSync(bin)) throw new Error(`code-server is not installed at ${bin}: run test/e2e/setup.sh first`);
  return bin;
}

/** The VSIX under test: LORA_LAB_E2E_VSIX (the runner packages it once) or .test-out/e2e/lora-lab.vsix. */
export function vsixPath() {
  const vsix = process.env.LORA_LAB_E2E_VSIX ?? DEFAULT_VSIX;
  if (!existsSync(vsix)) throw new Error(`no VSIX at ${vsix}: run the suite with node test/e2e/run.mjs (it packages the extension)`);
  return vsix;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Fixture run folders name their config by absolute path: `${WORKSPACE}` in run.json becomes the copy's path. */
function substituteWorkspacePath(dir, workspace = dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) substituteWorkspacePath(path, workspace);
    else if (entry.name === 'run.json') writeFileSync(path, readFileSync(path, 'utf8').replaceAll('${WORKSPACE}', workspace));
  }
}

/** The first file called `name` under `dir` (depth first), or undefined. */
function findFile(dir, name) {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    }
  }
  return undefined;
}

function slug(text) {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
}

/**
 * Starts a session. `fixture`: folder under test/fixtures/e2e copied as the workspace;
 * `examples`: names under examples/ (e.g. 'tiny-llama', 'data') copied into the workspace too;
 * `trusted: false` enables workspace trust so the folder opens in Restricted Mode.
 */
export async function openWorkbench({ name, fixture, examples = [], trusted = true, settings = {} }) {
  const outDir = join(OUT_ROOT, name);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  // A failed session keeps its folder for diagnosis; a later session of the same name removes it
  // once it is 15 minutes old (younger ones may belong to a suite running from another checkout).
  const prefix = `lora-lab-e2e-${slug(name)}-`;
  for (const old of readdirSync(tmpdir()).filter((entry) => entry.startsWith(prefix))) {
    const path = join(tmpdir(), old);
    if (Date.now() - statSync(path).mtimeMs > 15 * 60_000) rmSync(path, { recursive: true, force: true });
  }
  const root = mkdtempSync(join(tmpdir(), prefix));
  const session = new Workbench({ name, outDir, root });
  try {
    await session.start({ fixture, examples, trusted, settings });
  } catch (err) {
    await session.fail(err);
    await session.close();
    throw err;
  }
  return session;
}

export class Workbench {
  constructor({ name, outDir, root }) {
    this.name = name;
    this.outDir = outDir;
    this.root = root;
    this.workspace = join(root, 'workspace');
    this.userDataDir = join(root, 'user-data');
    this.extensionsDir = join(root, 'extensions');
    // XDG cache of the session (e.g. lora-lab calibrate's calibration.json), apart from the machine's.
    this.cacheDir = join(root, 'xdg-cache');
    this.stepCount = 0;
    this.server = null;
    this.serverExit = null;
    this.browser = null;
    this.page = null;
    this.failed = false;
  }

  /** The environment of the session's processes (code-server, and CLI runs a test makes). */
  env(extra = {}) {
    return { ...process.env, XDG_CACHE_HOME: this.cacheDir, ...extra };
  }

  /** The installed extension's bundled CLI (dist/cli.js), as a user's `lora-lab` would run it. */
  cliPath() {
    const installed = readdirSync(this.extensionsDir).find((entry) => entry.startsWith('lora-lab.lora-lab-'));
    if (!installed) throw new Error(`no lora-lab extension in ${this.extensionsDir}`);
    return join(this.extensionsDir, installed, 'dist', 'cli.js');
  }

  log(message) {
    console.log(`[e2e ${this.name}] ${message}`);
  }

  async start({ fixture, examples, trusted, settings }) {
    const started = Date.now();
    const fixtureDir = join(FIXTURES, fixture);
    if (!existsSync(fixtureDir)) throw new Error(`fixture ${fixtureDir} does not exist`);
    cpSync(fixtureDir, this.workspace, { recursive: true });
    substituteWorkspacePath(this.workspace);
    for (const example of examples) {
      const source = join(REPO_ROOT, 'examples', example);
      if (!existsSync(source))
        throw new Error(`examples/${example} does not exist in the repository (the example workspace has not landed?)`);
      cpSync(source, join(this.workspace, example), { recursive: true });
    }
    mkdirSync(join(this.userDataDir, 'User'), { recursive: true });
    const trustSettings = trusted
      ? {}
      : {
          'security.workspace.trust.enabled': true,
          'security.workspace.trust.startupPrompt': 'never',
          'security.workspace.trust.emptyWindow': false,
        };
    writeFileSync(
      join(this.userDataDir, 'User', 'settings.json'),
      JSON.stringify({ ...BASE_SETTINGS, ...trustSettings, ...settings }, null, 2),
    );
    const configFile = join(this.root, 'code-server.yaml');
    writeFileSync(configFile, 'auth: none\ncert: false\n');

    const bin = codeServerBin();
    const common = ['--config', configFile, '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
    const install = spawnSync(bin, [...common, '--install-extension', vsixPath()], { encoding: 'utf8', timeout: 120_000 });
    writeFileSync(join(this.outDir, 'install-extension.log'), `${install.stdout ?? ''}${install.stderr ?? ''}`);
    if (install.status !== 0)
      throw new Error(`installing the VSIX failed (status ${install.status}): ${install.stderr || install.stdout || install.error}`);

    this.port = await freePort();
    const args = [
      ...common,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${this.port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      ...(trusted ? ['--disable-workspace-trust'] : []),
      this.workspace,
    ];
    const logFile = join(this.outDir, 'code-server.log');
    const logStream = createWriteStream(logFile);
    // Its own process group, so stopping it ends the extension host and every helper too.
    mkdirSync(this.cacheDir, { recursive: true });
    this.server = spawn(bin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: this.env({ NODE_OPTIONS: '' }) });
    this.server.stdout.pipe(logStream);
    this.server.stderr.pipe(logStream);
    this.serverExit = new Promise((resolve) => this.server.once('exit', (code, signal) => resolve({ code, signal })));
    let exited = null;
    void this.serverExit.then((status) => {
      exited = status;
    });
    this.log(`code-server pid ${this.server.pid} on 127.0.0.1:${this.port}, workspace ${this.workspace}`);

    await waitFor(
      'code-server to answer /healthz',
      async () => {
        if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}): ${readFileSync(logFile, 'utf8').slice(-2000)}`);
        const response = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        return response.ok;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch((err) => {
      if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}); log: ${logFile}`);
      throw err;
    });

    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    const context = await this.browser.newContext({ viewport: { width: 1400, height: 900 } });
    this.page = await context.newPage();
    this.consoleLog = createWriteStream(join(this.outDir, 'browser-console.log'));
    this.page.on('console', (message) => this.consoleLog.write(`[${message.type()}] ${message.text()}\n`));
    this.page.on('pageerror', (error) => this.consoleLog.write(`[pageerror] ${error.message}\n`));
    await this.page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(this.workspace)}`);
    await this.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    // The explorer shows the workspace once the remote file system is up.
    await waitFor(
      'the workbench to show the workspace folder',
      () => this.page.locator('.explorer-folders-view .monaco-list-row').count(),
      { timeoutMs: 60_000 },
    );
    // The extension's contributions are registered once its activity-bar container shows.
    await waitFor(
      'the LoRA Lab activity-bar entry (the extension is installed and registered)',
      () => this.page.locator('.activitybar .action-item a[aria-label^="LoRA Lab"]').count(),
      { timeoutMs: 60_000 },
    );
    await this.step('workbench ready');
    this.log(`workbench ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** Saves a numbered screenshot of the current page into the test's output folder. */
  async step(description) {
    this.stepCount += 1;
    const file = join(this.outDir, `${String(this.stepCount).padStart(2, '0')}-${slug(description)}.png`);
    this.log(`step ${this.stepCount}: ${description}`);
    if (this.page) await this.page.screenshot({ path: file }).catch((err) => this.log(`screenshot failed: ${err.message}`));
    return file;
  }

  /** Records a failure: a last screenshot and where every picture and log is. */
  async fail(err) {
    this.failed = true;
    if (this.page) {
      await this.step('failure').catch(() => {});
      // Every notification of the session (toasts hide after a while; the center keeps them).
      const notifications = await runCommand(this.page, 'Notifications: Show Notifications')
        .then(() => this.page.locator('.notifications-center .notification-list-item-message').allTextContents())
        .catch((problem) => [`(could not read the notifications: ${problem.message.split('\n')[0]})`]);
      const dialog = await modalDialogText(this.page).catch(() => '');
      if (notifications.length) console.error(`[e2e ${this.name}] notifications:\n  ${notifications.join('\n  ')}`);
      if (dialog) console.error(`[e2e ${this.name}] modal dialog: ${dialog}`);
      await this.step('notifications at failure').catch(() => {});
    }
    const hostLog = findFile(join(this.userDataDir, 'logs'), 'LoRA Lab.log');
    if (hostLog)
      console.error(
        `[e2e ${this.name}] end of the LoRA Lab output channel:\n  ${readFileSync(hostLog, 'utf8').trimEnd().split('\n').slice(-15).join('\n  ')}`,
      );
    const where = relative(process.cwd(), this.outDir) || this.outDir;
    console.error(
      `[e2e ${this.name}] FAILED: ${err instanceof Error ? err.message : err}\n[e2e ${this.name}] screenshots and logs: ${where}/ (workspace kept at ${this.workspace})`,
    );
  }

  /** Closes the browser, stops code-server's process group by pid, ends trainers this session started. */
  async close() {
    if (this.browser) await this.browser.close().catch(() => {});
    this.browser = null;
    if (this.server?.pid && this.serverExit) {
      const pid = this.server.pid;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const stopped = await Promise.race([
        this.serverExit.then(() => true),
        waitFor('code-server to exit', () => !isAlive(pid), { timeoutMs: 10_000 }).catch(() => false),
      ]);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* the group is gone */
      }
      if (!stopped) this.log(`code-server pid ${pid} did not stop on SIGTERM; killed its group`);
    }
    this.server = null;
    // Trainers are detached from the host (they outlive a window reload): end ours explicitly.
    for (const { pid } of trainerProcesses(this)) {
      this.log(`ending leftover trainer pid ${pid}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.consoleLog?.end();
    const logs = join(this.userDataDir, 'logs');
    if (existsSync(logs)) cpSync(logs, join(this.outDir, 'vscode-logs'), { recursive: true });
    if (!this.failed) rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Runs `body(workbench)` in a fresh session and always closes it; on failure takes a last
 * screenshot and prints where the pictures are, then rethrows.
 */
export async function withWorkbench(options, body) {
  const workbench = await openWorkbench(options);
  try {
    await body(workbench);
  } catch (err) {
    await workbench.fail(err);
    throw err;
  } finally {
    await workbench.close();
  }
}
