// "Evaluate Run" in the host: the child's command line and fork options, EvalChild's outcomes against
// a scripted `lora-lab eval --ipc` (done, error with hint, crash, stop, SIGTERM after the grace), and
// the command through activate: task pick with eval.tasks preselected, limit from eval.limit, progress
// notification, cancel, the error message with its hint, a stopped run's newest checkpoint, trust.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { EvalChild, evalArgs, evalForkOptions, type EvalProgress } from '../../../extension/src/eval/eval-process';
import { parseLimit, taskPickItems, builtinTaskChoices, readEvalDefaults } from '../../../extension/src/eval/eval-choices';
import { checkpointOfPath } from '../../../extension/src/commands/evaluate-run';
import { runDirsOfArgs } from '../../../extension/src/commands/pick-run';
import type { RunJson } from '../../../native/trainer/protocol';
import { runJson } from './run-fixtures';

const fixture = path.join(__dirname, 'fixtures', 'scripted-eval.js');
const roots: string[] = [];
after(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })));

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A finished run folder (run.json, config.yaml with an eval section, adapter/) in its own runs folder. */
function runFolder(options: { status?: RunJson['status']; adapter?: boolean; evalSection?: string; checkpoints?: number[] } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-evalrun-'));
  roots.push(root);
  const runs = path.join(root, 'runs');
  const dir = path.join(runs, 'demo-r8');
  fs.mkdirSync(dir, { recursive: true });
  const configPath = path.join(root, 'demo.lora.yaml');
  fs.writeFileSync(configPath, 'name: demo-r8\n');
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify(runJson({ status: options.status ?? 'completed', configPath, step: 10, totalSteps: 10, endedMs: 2000 })),
  );
  fs.writeFileSync(
    path.join(dir, 'config.yaml'),
    `name: demo-r8\n${options.evalSection ?? 'eval:\n  tasks: [arithmetic_2ds, arithmetic_2da]\n  limit: 20\n'}`,
  );
  if (options.adapter !== false) {
    fs.mkdirSync(path.join(dir, 'adapter'));
    fs.writeFileSync(path.join(dir, 'adapter', 'adapter_config.json'), '{}');
  }
  for (const step of options.checkpoints ?? []) {
    const checkpoint = path.join(dir, 'checkpoints', `step-${String(step).padStart(6, '0')}`);
    fs.mkdirSync(checkpoint, { recursive: true });
    fs.writeFileSync(path.join(checkpoint, 'cursor.json'), '{}');
  }
  // The "extension": dist/cli.js is the scripted eval CLI.
  const extension = path.join(root, 'ext');
  fs.mkdirSync(path.join(extension, 'dist'), { recursive: true });
  fs.copyFileSync(fixture, path.join(extension, 'dist', 'cli.js'));
  return { root, runs, dir, configPath, extension, argsFile: path.join(root, 'args.json') };
}

function activateWith(extension: string, runs: string) {
  fake.resetFakeVscode();
  fake.configuration.set('loraLab.runFolders', [runs]);
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: extension, extensionUri: fake.Uri.file(extension) } as never);
  return () => subscriptions.forEach((s) => s.dispose());
}

function withEnv(values: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((k) => [k, process.env[k]]));
  Object.assign(process.env, values);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

test('the child is dist/cli.js eval --run DIR --tasks a,b [--limit N] [--checkpoint C] --ipc in plain Node', () => {
  assert.deepEqual(evalArgs({ runDir: '/r/a', tasks: ['x', 'y'], limit: 50 }), [
    'eval',
    '--run',
    '/r/a',
    '--tasks',
    'x,y',
    '--limit',
    '50',
    '--ipc',
  ]);
  assert.deepEqual(evalArgs({ runDir: '/r/a', tasks: ['x'], limit: null, checkpoint: 'checkpoints/step-000004' }), [
    'eval',
    '--run',
    '/r/a',
    '--tasks',
    'x',
    '--checkpoint',
    'checkpoints/step-000004',
    '--ipc',
  ]);
  const options = evalForkOptions('/ws', 3, { NODE_OPTIONS: '--inspect', PATH: '/bin' });
  assert.equal(options.cwd, '/ws');
  assert.deepEqual(options.execArgv, []);
  assert.equal(options.env?.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(options.env?.LORALAB_THREADS, '3');
  assert.equal(options.env?.NODE_OPTIONS, undefined);
  assert.equal((options as { shell?: unknown }).shell, undefined);
});

test('limit input: empty or "all" is every document; else a positive whole number', () => {
  assert.deepEqual(parseLimit(''), { limit: null });
  assert.deepEqual(parseLimit(' all '), { limit: null });
  assert.deepEqual(parseLimit('25'), { limit: 25 });
  for (const bad of ['0', '-3', '2.5', 'ten']) assert.ok('error' in parseLimit(bad), bad);
});

test('task items: configured tasks first and picked, the rest after; an unknown configured name is marked', () => {
  const items = taskPickItems(
    [
      ...builtinTaskChoices(),
      { name: 'heldout', kind: 'generate_until', metric: 'exact_match', description: 'Held-out answers', source: '/ws/heldout.task.yaml' },
    ],
    ['arithmetic_2da', 'missing_task'],
  );
  assert.deepEqual(
    items.filter((i) => i.picked).map((i) => i.task),
    ['arithmetic_2da', 'missing_task'],
  );
  assert.match(items[1].description, /not found/);
  const custom = items.find((i) => i.task === 'heldout')!;
  assert.equal(custom.picked, false);
  assert.match(custom.description, /generation · exact_match · custom · heldout\.task\.yaml/);
  assert.equal(custom.detail, 'Held-out answers');
  assert.equal(items.length, builtinTaskChoices().length + 2);
});

test("eval defaults come from the run's config.yaml (schema defaults when it has no eval section)", () => {
  const withSection = runFolder();
  assert.deepEqual(readEvalDefaults(withSection.dir, withSection.configPath), {
    tasks: ['arithmetic_2ds', 'arithmetic_2da'],
    limit: 20,
    configPath: withSection.configPath,
    taskDirs: [withSection.root, path.join(withSection.root, 'data', 'eval')],
  });
  const custom = runFolder({ evalSection: 'eval:\n  tasks: [heldout, arithmetic_2ds]\n' });
  assert.deepEqual(readEvalDefaults(custom.dir, custom.configPath)!.tasks, ['heldout', 'arithmetic_2ds'], 'a custom task name is kept');
  const without = runFolder({ evalSection: '' });
  const defaults = readEvalDefaults(without.dir, without.configPath)!;
  assert.equal(defaults.limit, null);
  assert.ok(defaults.tasks.includes('truthfulqa_mc1'), "the article's task set");
  assert.equal(readEvalDefaults(path.join(without.root, 'nowhere'), undefined), undefined);
});

test('arguments: a checkpoint folder names its run; a multi-selection gives every run', () => {
  assert.deepEqual(checkpointOfPath('/o/run-a/checkpoints/step-000020'), { runDir: '/o/run-a', checkpoint: 'checkpoints/step-000020' });
  assert.equal(checkpointOfPath('/o/run-a'), undefined);
  const node = (dir: string) => ({ kind: 'run', view: { dir } });
  const dirs = (arg: unknown, selection: unknown) => runDirsOfArgs(arg, selection, { checkpointFolders: true });
  const [a, b] = [node('/o/a'), node('/o/b')];
  assert.deepEqual(dirs(a, [a, b]), ['/o/a', '/o/b']);
  assert.deepEqual(dirs(a, [a]), ['/o/a']);
  assert.deepEqual(dirs(node('/o/c'), [a, b]), ['/o/c'], 'a right-click outside the selection acts on that row');
  assert.deepEqual(dirs('/o/c', undefined), ['/o/c']);
  assert.deepEqual(dirs(undefined, undefined), []);
  const checkpointRow = { kind: 'checkpoint', runDir: '/o/a', checkpoint: { step: 20, dir: '/o/a/checkpoints/step-000020' } };
  assert.deepEqual(dirs(checkpointRow, [checkpointRow]), ['/o/a/checkpoints/step-000020'], 'a checkpoint row of the Runs view');
  assert.deepEqual(runDirsOfArgs(checkpointRow, [checkpointRow]), ['/o/a'], 'other commands: the checkpoint row names its run');
  const sweep = { kind: 'sweep', children: [node('/o/v0'), node('/o/v1'), { kind: 'variant' }] };
  assert.deepEqual(dirs(sweep, [sweep]), ['/o/v0', '/o/v1'], 'a sweep row: its variants that ran');
});

test('EvalChild: progress, then the summary once the child has exited', async () => {
  const run = runFolder();
  const restore = withEnv({ LORALAB_FIXTURE_MODE: 'done' });
  try {
    const progress: EvalProgress[] = [];
    const outcome = await new EvalChild(fixture, (p) => progress.push(p)).run(
      { runDir: run.dir, tasks: ['a', 'b'], limit: 4 },
      evalForkOptions(run.root),
    );
    assert.equal(outcome.kind, 'done');
    assert.equal(outcome.kind === 'done' && outcome.summary.status, 'completed');
    assert.deepEqual(
      progress.map((p) => p.done),
      [0, 2, 4],
    );
    const written = JSON.parse(fs.readFileSync(path.join(run.dir, 'run.json'), 'utf8')) as RunJson;
    assert.deepEqual(Object.keys(written.summary!.eval!.tasks), ['a', 'b'], 'run.json was complete when the outcome came');
  } finally {
    restore();
  }
});

test('EvalChild: an eval-error keeps its code and hint; a crash reports the end of stderr', async () => {
  const run = runFolder();
  for (const [mode, expected] of [
    ['error', { kind: 'error', code: 'E_EVAL_TASK', message: "unknown evaluation task 'zz'", hint: 'Check eval.tasks in the config.' }],
    ['crash', { kind: 'error', code: 'E_EVAL_EXIT', message: 'lora-lab eval Error: the engine ran out of memory' }],
  ] as const) {
    const restore = withEnv({ LORALAB_FIXTURE_MODE: mode });
    try {
      const outcome = await new EvalChild(fixture, () => {}).run(
        { runDir: run.dir, tasks: ['zz'], limit: null },
        evalForkOptions(run.root),
      );
      assert.deepEqual(outcome, expected, mode);
    } finally {
      restore();
    }
  }
});

test('EvalChild: stop sends {type:"stop"} (status stopped); a child that ignores it gets SIGTERM after the grace', async () => {
  const run = runFolder();
  for (const mode of ['stop', 'stubborn']) {
    const restore = withEnv({ LORALAB_FIXTURE_MODE: mode });
    try {
      let started = false;
      const child = new EvalChild(fixture, () => (started = true), undefined, 300);
      const pending = child.run({ runDir: run.dir, tasks: ['a'], limit: 2 }, evalForkOptions(run.root));
      await waitFor('the first progress message', () => (started ? true : undefined));
      const stoppedAt = Date.now();
      child.stop();
      child.stop();
      const outcome = await pending;
      if (mode === 'stop') {
        assert.equal(outcome.kind === 'done' && outcome.summary.status, 'stopped');
      } else {
        assert.deepEqual(outcome, { kind: 'stopped' });
        assert.ok(Date.now() - stoppedAt >= 250, 'SIGTERM only after the grace period');
      }
    } finally {
      restore();
    }
  }
});

test('Evaluate Run: tasks preselected from eval.tasks, limit from eval.limit, progress, then the scores', async (t) => {
  const run = runFolder();
  const restore = withEnv({ LORALAB_FIXTURE_MODE: 'done', LORALAB_FIXTURE_ARGS: run.argsFile });
  const dispose = activateWith(run.extension, run.runs);
  t.after(() => {
    dispose();
    restore();
  });
  fake.answers.quickPick = [{ task: 'arithmetic_2da' }, { task: 'arithmetic_4da' }];
  fake.answers.inputBox = '7';
  await fake.commands.executeCommand('loraLab.evaluateRun', run.dir);
  const pick = fake.shownQuickPicks[0] as { items: { task: string; picked: boolean }[]; options: { canPickMany: boolean } };
  assert.equal(pick.options.canPickMany, true);
  assert.deepEqual(
    pick.items.filter((i) => i.picked).map((i) => i.task),
    ['arithmetic_2ds', 'arithmetic_2da'],
  );
  assert.equal((fake.shownInputBoxes[0] as { value: string }).value, '20');
  const { args, cwd, env } = JSON.parse(fs.readFileSync(run.argsFile, 'utf8'));
  assert.deepEqual(args, [
    'eval',
    '--run',
    run.dir,
    '--tasks',
    'arithmetic_2da,arithmetic_4da',
    '--limit',
    '7',
    '--task-dir',
    run.root,
    '--ipc',
  ]);
  assert.equal(cwd, fs.realpathSync(run.root), "the child runs in the config's folder (custom tasks beside it)");
  assert.equal(env, '1');
  const progress = fake.shownProgress[0] as { options: { title: string; cancellable: boolean }; reports: { message?: string }[] };
  assert.equal(progress.options.cancellable, true);
  assert.match(progress.options.title, /Evaluating demo-r8/);
  assert.ok(
    progress.reports.some((r) => r.message === 'arithmetic_4da · 4/4 (100%)'),
    JSON.stringify(progress.reports),
  );
  const done = fake.shownMessages.find((m) => m.level === 'info')!;
  assert.match(done.text, /evaluated demo-r8: arithmetic_2da 0\.2500 \(±0\), arithmetic_4da 0\.3750 \(\+0\.1250\)/);
});

test('Evaluate Run offers the custom task files beside the config (through the trainer discovery); a broken one is logged', async (t) => {
  const run = runFolder({ evalSection: 'eval:\n  tasks: [arithmetic_2ds, heldout]\n' });
  fs.writeFileSync(path.join(run.root, 'heldout.jsonl'), '{"instruction": "Say hi", "output": "hi"}\n');
  fs.writeFileSync(
    path.join(run.root, 'heldout.task.yaml'),
    'name: heldout\ndescription: Held-out instructions, exact match of the greedy answer\nkind: generate_until\ndata: { file: heldout.jsonl }\ncontext: "{{instruction}}\\n"\ntarget: "{{output}}"\nuntil: ["\\n"]\nmax_tokens: 8\nmetric: exact_match\n',
  );
  fs.writeFileSync(path.join(run.root, 'broken.task.yaml'), 'name: broken\nkind: ranking\n');
  const restore = withEnv({ LORALAB_FIXTURE_MODE: 'done', LORALAB_FIXTURE_ARGS: run.argsFile });
  const dispose = activateWith(run.extension, run.runs);
  t.after(() => {
    dispose();
    restore();
  });
  fake.answers.quickPick = undefined; // cancelled at the task pick
  await fake.commands.executeCommand('loraLab.evaluateRun', run.dir);
  const items = (fake.shownQuickPicks[0] as { items: { task: string; picked: boolean; description: string; detail?: string }[] }).items;
  assert.deepEqual(
    items.filter((i) => i.picked).map((i) => i.task),
    ['arithmetic_2ds', 'heldout'],
  );
  const heldout = items.find((i) => i.task === 'heldout')!;
  assert.match(heldout.description, /generation · exact_match · custom · heldout\.task\.yaml/);
  assert.equal(heldout.detail, 'Held-out instructions, exact match of the greedy answer');
  assert.ok(!items.some((i) => i.task === 'broken'));
  const log = fake.loggedLines();
  assert.ok(
    log.some((line) => /evaluation task file skipped: .*broken\.task\.yaml/.test(line)),
    log.join('\n'),
  );
  assert.ok(!fs.existsSync(run.argsFile), 'cancelled: no child');
});

test('Evaluate Run: the error with its hint; cancel stops the child; a checkpoint folder is evaluated with --checkpoint', async (t) => {
  const run = runFolder({ status: 'stopped', adapter: false, checkpoints: [5, 10] });
  const restore = withEnv({ LORALAB_FIXTURE_MODE: 'error', LORALAB_FIXTURE_ARGS: run.argsFile });
  const dispose = activateWith(run.extension, run.runs);
  t.after(() => {
    dispose();
    restore();
  });
  fake.answers.quickPick = [{ task: 'zz' }];
  fake.answers.inputBox = '';
  await fake.commands.executeCommand('loraLab.evaluateRun', run.dir);
  const { args } = JSON.parse(fs.readFileSync(run.argsFile, 'utf8'));
  assert.deepEqual(
    args,
    ['eval', '--run', run.dir, '--tasks', 'zz', '--task-dir', run.root, '--ipc'],
    'the CLI picks the newest checkpoint itself',
  );
  const error = fake.shownMessages.find((m) => m.level === 'error')!;
  assert.equal(error.text, "LoRA Lab: evaluating demo-r8 failed: unknown evaluation task 'zz' Check eval.tasks in the config.");

  process.env.LORALAB_FIXTURE_MODE = 'stop';
  fake.shownMessages.length = 0;
  fake.answers.cancelProgressAfterMs = 300;
  await fake.commands.executeCommand('loraLab.evaluateRun', path.join(run.dir, 'checkpoints', 'step-000005'));
  assert.match(fake.shownMessages.at(-1)!.text, /the evaluation of demo-r8 was stopped; the run and its adapter are unchanged/);
  const written = JSON.parse(fs.readFileSync(path.join(run.dir, 'run.json'), 'utf8')) as RunJson;
  assert.equal(written.summary?.eval?.status, 'stopped');
  assert.equal(written.summary?.eval?.adapter, 'checkpoints/step-000005');
  assert.deepEqual(JSON.parse(fs.readFileSync(run.argsFile, 'utf8')).args, [
    'eval',
    '--run',
    run.dir,
    '--tasks',
    'zz',
    '--checkpoint',
    'checkpoints/step-000005',
    '--task-dir',
    run.root,
    '--ipc',
  ]);
});

test('Evaluate Run: refused in an untrusted workspace; nothing picked -> nothing run; a training run is refused', async (t) => {
  const run = runFolder();
  const restore = withEnv({ LORALAB_FIXTURE_MODE: 'done', LORALAB_FIXTURE_ARGS: run.argsFile });
  const dispose = activateWith(run.extension, run.runs);
  t.after(() => {
    dispose();
    restore();
  });
  fake.workspaceState.isTrusted = false;
  await fake.commands.executeCommand('loraLab.evaluateRun', run.dir);
  assert.match(fake.shownMessages[0].text, /Evaluating runs is disabled in an untrusted workspace/);
  assert.equal(fake.shownQuickPicks.length, 0);
  fake.workspaceState.isTrusted = true;
  fake.answers.quickPick = [];
  await fake.commands.executeCommand('loraLab.evaluateRun', run.dir);
  assert.equal(fake.shownInputBoxes.length, 0, 'no tasks: no limit asked');
  assert.ok(!fs.existsSync(run.argsFile), 'no child started');
  const live = runFolder({ status: 'running' });
  fake.configuration.set('loraLab.runFolders', [run.runs, live.runs]);
  fake.shownMessages.length = 0;
  await fake.commands.executeCommand('loraLab.evaluateRun', live.dir);
  assert.match(fake.shownMessages.at(-1)!.text, /is still training/);
  assert.ok(!fs.existsSync(live.argsFile));
});
