// The host <-> dashboard message protocol: guards accept every well-formed message and reject the
// rest, replays split into batches with reset on the first only, persisted state is sanitised;
// and the panel HTML's strict CSP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricsLine } from '../../../native/trainer/protocol';
import { isHostToWebview, isWebviewToHost, metricsMessages, parseDashboardState } from '../../../webview/src/protocol';
import { dashboardHtml } from '../../../extension/src/dashboard/dashboard-html';

test('isWebviewToHost accepts ready and the four actions only', () => {
  assert.ok(isWebviewToHost({ type: 'ready' }));
  for (const action of ['stop', 'resume', 'reveal', 'openConfig', 'chat']) assert.ok(isWebviewToHost({ type: 'action', action }));
  for (const bad of [null, 'ready', {}, { type: 'action', action: 'rm -rf' }, { type: 'action' }, { type: 'run' }])
    assert.ok(!isWebviewToHost(bad), JSON.stringify(bad));
});

test('isHostToWebview accepts run and metrics messages', () => {
  assert.ok(isHostToWebview({ type: 'run', run: { runDir: '/o/r' } }));
  assert.ok(isHostToWebview({ type: 'metrics', reset: false, lines: [] }));
  assert.ok(!isHostToWebview({ type: 'metrics', lines: [] }));
  assert.ok(!isHostToWebview({ type: 'run' }));
});

test('metricsMessages batches a replay; only the first batch resets; an empty reset still resets', () => {
  const lines = Array.from({ length: 5 }, (_, i): MetricsLine => ({ kind: 'val', step: i, loss: 1 }));
  const messages = metricsMessages(lines, true, 2);
  assert.deepEqual(
    messages.map((m) => [m.reset, m.lines.length]),
    [
      [true, 2],
      [false, 2],
      [false, 1],
    ],
  );
  assert.deepEqual(metricsMessages([], true), [{ type: 'metrics', reset: true, lines: [] }]);
  assert.deepEqual(metricsMessages([], false), []);
  assert.deepEqual(
    metricsMessages(lines.slice(0, 1), false).map((m) => m.reset),
    [false],
  );
});

test('parseDashboardState clamps and defaults', () => {
  assert.equal(parseDashboardState(undefined), undefined);
  assert.equal(parseDashboardState({ smoothing: 1 }), undefined);
  assert.deepEqual(parseDashboardState({ runDir: '/r', smoothing: 5, xAxis: 'bogus', logY: 'yes' }), {
    runDir: '/r',
    smoothing: 0.99,
    xAxis: 'step',
    logY: false,
  });
  assert.deepEqual(parseDashboardState({ runDir: '/r', smoothing: 0.3, xAxis: 'time', logY: true }), {
    runDir: '/r',
    smoothing: 0.3,
    xAxis: 'time',
    logY: true,
  });
});

test('dashboard HTML: default-src none, nonce on the one script, styles only from the webview source', () => {
  const html = dashboardHtml({
    cspSource: 'vscode-resource:',
    nonce: 'abc123',
    scriptUri: 'vscode-resource:/dist/webview/dashboard.js',
    styleUris: ['vscode-resource:/media/dashboard.css'],
    title: 'Run <x>',
  });
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.match(csp, /^default-src 'none'/);
  assert.match(csp, /script-src 'nonce-abc123'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /style-src vscode-resource:(;|$)/);
  const scripts = [...html.matchAll(/<script([^>]*)>/g)];
  assert.equal(scripts.length, 1);
  assert.match(scripts[0][1], /nonce="abc123"/);
  assert.doesNotMatch(html, /<style|style="/);
  assert.match(html, /<title>Run &lt;x&gt;<\/title>/);
});
