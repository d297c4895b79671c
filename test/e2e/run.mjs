// `npm run test:e2e`: the end-to-end suite in a real VS Code (code-server) driven by headless
// Chromium. Installs code-server if needed (setup.sh), packages the VSIX once, then runs each
// scenario as its own node:test process and prints a summary with durations.
// Usage: node test/e2e/run.mjs [--vsix FILE] [--no-setup] [--list] [--retries N] [scenario ...]
//   scenarios: `--list` names them (default: all, or LORA_LAB_E2E_SCENARIOS="trust palette");
//   --vsix reuses a packaged extension; --retries N runs a failed scenario again up to N times (CI:
//   1), and the summary says which passed only on a retry and why the earlier try failed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const outRoot = join(root, '.test-out', 'e2e');

/** Every scenario, in the order of the issue's list that the features allow. */
const SCENARIOS = {
  trust: 'untrusted workspace: Start LoRA Run refused, no trainer process',
  intellisense: 'Problems panel lines, hover on lora.r, completion after quantize:, parameter code lens',
  families: 'Falcon: hover on lora.query names the fused query_key_value with the hint, LoRA code lens; Phi: lora.mlp is fc1, fc2',
  estimate: 'code lens shows the peak-memory and time estimates',
  palette: 'palette -> run completed in the Runs view with its final loss',
  explorer: 'stop from the context menu -> stopped with a checkpoint, resume -> completed',
  dashboard:
    'dashboard of a finished run: first paint with charts, loss and grad-norm points == train lines, memory bar filled; dark and light',
  'live-dashboard': 'dashboard of a training run: the loss chart grows, then matches metrics.jsonl',
  dataset: "dataset panel: inspect-data's record count and bins; a JSON error row links to its line; dark and light",
  hub: 'Download Model catalog; the "Download model" quick fix downloads from a local Hub, then the estimate appears',
  chat: "chat with base vs a finished run's adapter: two answers stream, each equals lora-lab generate (greedy); dark and light",
  compare:
    'comparison panel of a sweep: rows and numbers of the fixture runs, sort, start a variant -> new row; 200 folders read incrementally',
  'optim-state': 'completion offers adamw8bit, hover on state_precision, the lens drops to 6.03 bytes per trainable parameter',
  evaluate: 'Evaluate Run on a finished run: progress, then scores in the Runs view and the dashboard table equal the results files',
  'runs-view': 'Runs view while a run trains: 12 row clicks open dashboards, checkpoints listed, delete without a trash; dark and light',
  sweep: 'a 4-variant sweep asks first, shows every variant; Stop Variant goes on, Stop Sweep leaves the rest never run',
  'cli-shim': '"Add lora-lab to the Terminal PATH": a new terminal runs lora-lab --version; Doctor prints in the output channel',
};

const argv = process.argv.slice(2);
const flag = (name) => {
  const index = argv.indexOf(name);
  if (index < 0) return undefined;
  const [, value] = argv.splice(index, 2);
  return value;
};
const vsixArg = flag('--vsix');
const retriesArg = flag('--retries');
const retries = Number(retriesArg ?? process.env.LORA_LAB_E2E_RETRIES ?? 0);
if (!Number.isInteger(retries) || retries < 0) {
  console.error(`--retries wants a whole number >= 0, got ${retriesArg}`);
  process.exit(2);
}
const noSetup = argv.includes('--no-setup');
if (argv.includes('--list')) {
  for (const [name, what] of Object.entries(SCENARIOS)) console.log(`${name.padEnd(13)} ${what}`);
  process.exit(0);
}
const requested = argv.filter((arg) => !arg.startsWith('--'));
const fromEnv = (process.env.LORA_LAB_E2E_SCENARIOS ?? '').split(/[\s,]+/).filter(Boolean);
const scenarios = requested.length ? requested : fromEnv.length ? fromEnv : Object.keys(SCENARIOS);
const unknown = scenarios.filter((name) => !(name in SCENARIOS));
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}

function stage(name, cmd, args, options = {}) {
  const started = Date.now();
  console.log(`\n=== e2e ${name}`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  const seconds = (Date.now() - started) / 1000;
  const ok = result.status === 0;
  console.log(`=== e2e ${name}: ${ok ? 'ok' : `FAILED (status ${result.status ?? result.signal})`} (${seconds.toFixed(1)} s)`);
  return { ok, seconds };
}

const suiteStarted = Date.now();
if (!noSetup && !stage('setup', 'bash', [join(here, 'setup.sh')]).ok) process.exit(1);

mkdirSync(outRoot, { recursive: true });
let vsix = vsixArg ?? process.env.LORA_LAB_E2E_VSIX;
if (!vsix) {
  vsix = join(outRoot, 'lora-lab.vsix');
  if (!stage('package', process.execPath, ['scripts/package.mjs', '--out', vsix]).ok) process.exit(1);
}
if (!existsSync(vsix)) {
  console.error(`no VSIX at ${vsix}`);
  process.exit(1);
}

/** Runs one scenario, its output shown live and kept: the summary repeats a failure's reason. */
function scenario(name, file, env) {
  const started = Date.now();
  console.log(`\n=== e2e scenario ${name}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (stream, sink) =>
      stream.on('data', (chunk) => {
        sink.write(chunk);
        output += chunk;
      });
    keep(child.stdout, process.stdout);
    keep(child.stderr, process.stderr);
    child.on('close', (code, signal) => {
      const seconds = (Date.now() - started) / 1000;
      const ok = code === 0;
      console.log(`=== e2e scenario ${name}: ${ok ? 'ok' : `FAILED (status ${code ?? signal})`} (${seconds.toFixed(1)} s)`);
      resolve({ name, ok, seconds, reasons: ok ? [] : failureReasons(output) });
    });
  });
}

/** Why a node:test run failed: its last e2e step, then its errors and assertion values (8 lines at most). */
function failureReasons(output) {
  const lines = output.split('\n').map((line) => line.trim());
  const steps = lines.filter((line) => /^\[e2e \S+\] step \d+: (?!failure|notifications at failure)/.test(line));
  const errors = lines.filter((line) => /^(error:|Error|AssertionError|timed out|gave up|actual:|expected:)/.test(line));
  return [...steps.slice(-1).map((step) => `after ${step}`), ...new Set(errors)]
    .slice(0, 8)
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
}

const results = [];
for (const name of scenarios) {
  const env = { ...process.env, LORA_LAB_E2E_VSIX: vsix };
  const earlier = [];
  let result = await scenario(name, join(here, `${name}.e2e.mjs`), env);
  while (!result.ok && earlier.length < retries) {
    earlier.push(result);
    console.log(`=== e2e scenario ${name}: try ${earlier.length + 1} of ${retries + 1}`);
    result = await scenario(name, join(here, `${name}.e2e.mjs`), env);
  }
  results.push({ ...result, earlier });
}

console.log('\ne2e summary');
for (const { name, ok, seconds, reasons, earlier } of results) {
  const pictures = relative(root, join(outRoot, name));
  const tries = earlier.length ? ` (try ${earlier.length + 1})` : '';
  console.log(
    `  ${ok ? 'pass' : 'FAIL'}  ${name.padEnd(13)} ${seconds.toFixed(1).padStart(6)} s${tries}${ok ? '' : `   screenshots and logs: ${pictures}/`}`,
  );
  for (const reason of reasons) console.log(`        ${reason}`);
  earlier.forEach((failed, index) => {
    console.log(`        try ${index + 1} failed after ${failed.seconds.toFixed(1)} s:`);
    for (const reason of failed.reasons) console.log(`          ${reason}`);
  });
}
const flaky = results.filter((result) => result.ok && result.earlier.length).map((result) => result.name);
if (flaky.length) console.log(`  flaky (passed on a retry): ${flaky.join(', ')}`);
console.log(`  total ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
process.exit(results.every((result) => result.ok) ? 0 : 1);
