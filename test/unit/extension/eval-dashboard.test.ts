// The dashboard's evaluation data in the host: every metric of a results file (lm-eval 0.4 keys,
// "N/A" stderr), and through the real panel: after 'ready' the run message carries summary.eval and an
// eval-results message the results files' metrics; a new evaluation (new results file) sends again;
// the dashboard's "Evaluate…" button runs loraLab.evaluateRun on the run.
import '../helpers/install-fake-vscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as fake from '../helpers/fake-vscode';
import { activate } from '../../../extension/src/extension';
import { evalResultsMessage, readResultsFile, taskMetrics } from '../../../extension/src/eval/eval-results';
import type { EvalResultsMessage, HostToWebview } from '../../../webview/src/protocol';
import type { EvalSummary } from '../../../native/trainer/protocol';
import { evalSummary } from '../helpers/eval-fixtures';
import { runJson } from './run-fixtures';

const roots: string[] = [];
after(() => roots.forEach((root) => fs.rmSync(root, { recursive: true, force: true })));

function resultsJson(values: Record<string, Record<string, number | string>>, adapter: string | null) {
  return {
    results: Object.fromEntries(Object.entries(values).map(([task, metrics]) => [task, { alias: task, ...metrics }])),
    versions: {},
    config: { model: '/models/tiny', adapter },
    date: 1765036800,
  };
}

/** A completed run whose summary.eval names a results file and a base results file. */
function scoredRun(evaluation: EvalSummary = evalSummary()) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-evaldash-'));
  roots.push(root);
  const runs = path.join(root, 'runs');
  const runDir = path.join(runs, 'demo-1');
  fs.mkdirSync(path.join(runDir, 'eval'), { recursive: true });
  fs.writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify(runJson({ name: 'demo-1', status: 'completed', summary: { eval: evaluation } as never })),
  );
  fs.writeFileSync(path.join(runDir, 'metrics.jsonl'), '');
  fs.writeFileSync(
    path.join(runDir, evaluation.resultsFile!),
    JSON.stringify(
      resultsJson(
        {
          arithmetic_2ds: { 'acc,none': 0.42, 'acc_stderr,none': 0.0705 },
          heldout: { 'exact_match,none': 0.3, 'exact_match_stderr,none': 0.0655 },
          wikitext_ppl: { 'acc,none': 0.5, 'acc_stderr,none': 'N/A', 'perplexity,none': 12.5, 'perplexity_stderr,none': 'N/A' },
        },
        `${runDir}/adapter`,
      ),
    ),
  );
  fs.writeFileSync(
    path.join(runDir, evaluation.baseResultsFile!),
    JSON.stringify(resultsJson({ wikitext_ppl: { 'acc,none': 0.45, 'perplexity,none': 14.25 } }, null)),
  );
  return { root, runs, runDir };
}

test('taskMetrics: each <metric>,<filter> with its stderr; "N/A" is null; alias and stderr keys are not metrics', () => {
  assert.deepEqual(
    taskMetrics({ alias: 'x', 'acc,none': 0.5, 'acc_stderr,none': 0.1, 'perplexity,none': 3.5, 'perplexity_stderr,none': 'N/A' }),
    [
      { metric: 'acc', value: 0.5, stderr: 0.1 },
      { metric: 'perplexity', value: 3.5, stderr: null },
    ],
  );
  assert.deepEqual(taskMetrics('junk'), []);
});

test('evalResultsMessage reads both results files; a missing or malformed file gives nothing', () => {
  const { runDir } = scoredRun();
  const message = evalResultsMessage(runDir, evalSummary())!;
  assert.equal(message.model, '/models/tiny');
  assert.equal(message.date, 1765036800);
  assert.deepEqual(message.metrics.wikitext_ppl, [
    { metric: 'acc', value: 0.5, stderr: null },
    { metric: 'perplexity', value: 12.5, stderr: null },
  ]);
  assert.deepEqual(
    message.baseMetrics.wikitext_ppl.map((m) => m.value),
    [0.45, 14.25],
  );
  assert.equal(evalResultsMessage(runDir, evalSummary({ resultsFile: null })), undefined);
  assert.equal(evalResultsMessage(runDir, evalSummary({ resultsFile: 'eval/none.json' })), undefined);
  fs.writeFileSync(path.join(runDir, 'eval', 'bad.json'), '{"results": 3}');
  assert.equal(readResultsFile(path.join(runDir, 'eval', 'bad.json')), undefined);
  const noBase = evalResultsMessage(runDir, evalSummary({ baseResultsFile: 'eval/gone.json' }))!;
  assert.equal(noBase.baseResultsFile, null);
  assert.deepEqual(noBase.baseMetrics, {});
});

test('dashboard: summary.eval in the first paint (snapshot) header, the results once per file, again for a new evaluation; Evaluate button', async () => {
  const { runs, runDir } = scoredRun();
  fake.resetFakeVscode();
  fake.configuration.set('loraLab.runFolders', [runs]);
  const subscriptions: { dispose(): void }[] = [];
  activate({ subscriptions, extensionPath: '/ext', extensionUri: fake.Uri.file('/ext') } as never);
  try {
    await fake.commands.executeCommand('loraLab.openDashboard', runDir);
    const panel = fake.createdPanels[0];
    const posted = () => panel.webview.posted as HostToWebview[];
    const evalResults = () => posted().filter((m): m is EvalResultsMessage => m.type === 'eval-results');
    panel.webview.receive({ type: 'ready' });
    const first = posted().find((m) => m.type === 'snapshot' || m.type === 'run');
    assert.equal(first?.type, 'snapshot', 'the first paint is the snapshot');
    assert.deepEqual(first?.type === 'snapshot' && first.run?.summary?.eval, evalSummary());
    assert.equal(evalResults().length, 1);
    assert.equal(evalResults()[0].resultsFile, evalSummary().resultsFile);

    await fake.commands.executeCommand('loraLab.openDashboard', runDir); // a refresh without changes
    assert.equal(evalResults().length, 1, 'the same results file is not sent twice');

    const next = evalSummary({ resultsFile: 'eval/results_2026-12-06T17-00-00.000.json', step: 300 });
    fs.copyFileSync(path.join(runDir, evalSummary().resultsFile!), path.join(runDir, next.resultsFile!));
    fs.writeFileSync(
      path.join(runDir, 'run.json'),
      JSON.stringify(runJson({ name: 'demo-1', status: 'completed', summary: { eval: next } as never })),
    );
    await fake.commands.executeCommand('loraLab.openDashboard', runDir);
    assert.equal(evalResults().length, 2, 'a new evaluation is sent live');
    assert.equal(evalResults()[1].resultsFile, next.resultsFile);

    panel.webview.receive({ type: 'ready' });
    assert.equal(evalResults().length, 3, 'a reloaded webview gets the results again');

    panel.webview.receive({ type: 'action', action: 'evaluate' });
    assert.deepEqual(fake.executedCommands.find((c) => c.id === 'loraLab.evaluateRun')?.args, [runDir]);
  } finally {
    for (const s of subscriptions) s.dispose();
  }
});
