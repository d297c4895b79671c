// One "Evaluate Run" in the host: the dialog (tasks, limit), then the `lora-lab eval --ipc` child
// under a cancellable progress notification, then the outcome (scores, stopped, or the error with
// its hint). The CLI writes the results and summary.eval; the host only reads them back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatDelta, formatScore, scoreRows } from '../../../language-server/src/lib/eval-scores';
import type { Ctx } from '../context';
import type { RunView } from '../runs-model';
import { builtinTaskChoices, customTaskChoices, parseLimit, readEvalDefaults, taskPickItems } from './eval-choices';
import { EvalChild, evalForkOptions, type EvalOutcome, type EvalProgress, type EvalRequest } from './eval-process';

/** A run to evaluate: its final adapter, or one checkpoint (relative to the run folder). */
export interface EvalTarget {
  view: RunView;
  checkpoint?: string;
}

/** The progress notification's text of one EvalProgress. */
export function progressText(progress: EvalProgress): string {
  const share = progress.total > 0 ? ` (${Math.floor((100 * progress.done) / progress.total)}%)` : '';
  return `${progress.task ?? 'preparing'} · ${progress.done}/${progress.total}${share}`;
}

/** One line per task for the completion message: "arithmetic_2ds 0.4200 (+0.0300)". */
export function scoresLine(outcome: Extract<EvalOutcome, { kind: 'done' }>): string {
  return scoreRows(outcome.summary)
    .map(
      (row) => `${row.task} ${formatScore(row.value, row.metric)}${row.delta === null ? '' : ` (${formatDelta(row.delta, row.metric)})`}`,
    )
    .join(', ');
}

/** Runs whose evaluation this host has in flight (a second Evaluate of the same run is refused). */
const inFlight = new Set<string>();

/** Asks for tasks and limit (once for all targets); undefined when the user cancels. */
async function askSettings(ctx: Ctx, target: EvalTarget): Promise<{ tasks: string[]; limit: number | null } | undefined> {
  const configPath = target.view.run.configPath || undefined;
  const configDir = configPath ? path.dirname(configPath) : undefined;
  const defaults = readEvalDefaults(target.view.dir, configPath) ?? {
    tasks: [],
    limit: null,
    configPath,
    taskDirs: configDir && fs.existsSync(configDir) ? [configDir] : [],
  };
  const custom = customTaskChoices(defaults.taskDirs);
  for (const error of custom.errors) ctx.log.warn(`evaluation task file skipped: ${error}`);
  const choices = [...builtinTaskChoices(), ...custom.choices];
  const items = taskPickItems(choices, defaults.tasks);
  const picked = await vscode.window.showQuickPick(items, {
    canPickMany: true,
    title: `Evaluate ${target.view.run.name}: tasks`,
    placeHolder: "Tasks to score (the config's eval.tasks are selected)",
    ignoreFocusOut: true,
  });
  const tasks = (picked as typeof items | undefined)?.map((item) => item.task);
  if (!tasks || tasks.length === 0) return undefined;
  const limitText = await vscode.window.showInputBox({
    title: `Evaluate ${target.view.run.name}: documents per task`,
    prompt: 'At most this many documents per task (empty = all). A small limit gives a quick, noisier score.',
    value: defaults.limit === null ? '' : String(defaults.limit),
    validateInput: (text) => {
      const parsed = parseLimit(text);
      return 'error' in parsed ? parsed.error : undefined;
    },
    ignoreFocusOut: true,
  });
  if (limitText === undefined) return undefined;
  const limit = parseLimit(limitText);
  if ('error' in limit) return undefined;
  return { tasks, limit: limit.limit };
}

/** Evaluates one target under a progress notification; resolves with the outcome. */
async function evaluateOne(ctx: Ctx, target: EvalTarget, tasks: string[], limit: number | null): Promise<EvalOutcome> {
  const { view } = target;
  const what = target.checkpoint ? `${view.run.name} (${path.basename(target.checkpoint)})` : view.run.name;
  const configDir = view.run.configPath ? path.dirname(view.run.configPath) : undefined;
  const hasConfigDir = configDir !== undefined && fs.existsSync(configDir);
  // Custom task files beside the config the run came from: the CLI reads the run's own config.yaml.
  const request: EvalRequest = {
    runDir: view.dir,
    tasks,
    limit,
    checkpoint: target.checkpoint,
    taskDir: hasConfigDir ? configDir : undefined,
  };
  const cwd = hasConfigDir ? configDir : view.dir;
  const threads = vscode.workspace.getConfiguration('loraLab').get<number>('threads', 0);
  ctx.log.info(`evaluating ${what}: tasks ${tasks.join(', ')}, limit ${limit ?? 'all'}`);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Evaluating ${what}`, cancellable: true },
    async (progress, token) => {
      let reported = 0;
      const child = new EvalChild(
        ctx.trainerEntry,
        (message) => {
          const share = message.total > 0 ? (100 * message.done) / message.total : 0;
          progress.report({ message: progressText(message), increment: Math.max(0, share - reported) });
          reported = Math.max(reported, share);
        },
        (level, line) => ctx.log[level](`[eval ${view.run.name}] ${line}`),
      );
      const cancel = token.onCancellationRequested(() => {
        ctx.log.info(`stopping the evaluation of ${what}`);
        progress.report({ message: 'stopping…' });
        child.stop();
      });
      try {
        progress.report({ message: 'starting…' });
        return await child.run(request, evalForkOptions(cwd, threads));
      } finally {
        cancel.dispose();
      }
    },
  );
}

/** Shows how an evaluation ended; "Open Dashboard" shows the table, "Show Logs" the child's output. */
async function report(ctx: Ctx, target: EvalTarget, outcome: EvalOutcome): Promise<void> {
  const name = target.view.run.name;
  if (outcome.kind === 'done' && outcome.summary.status === 'completed') {
    ctx.log.info(`evaluated ${name}: ${scoresLine(outcome)}`);
    const open = await vscode.window.showInformationMessage(`LoRA Lab: evaluated ${name}: ${scoresLine(outcome)}`, 'Open Dashboard');
    if (open === 'Open Dashboard') await vscode.commands.executeCommand('loraLab.openDashboard', target.view.dir);
    return;
  }
  if (outcome.kind === 'stopped' || (outcome.kind === 'done' && outcome.summary.status === 'stopped')) {
    ctx.log.info(`the evaluation of ${name} was stopped`);
    void vscode.window.showInformationMessage(`LoRA Lab: the evaluation of ${name} was stopped; the run and its adapter are unchanged.`);
    return;
  }
  const error =
    outcome.kind === 'error'
      ? outcome
      : (outcome.summary.error ?? { code: 'E_EVAL', message: `the evaluation ended ${outcome.summary.status}`, hint: undefined });
  const text = `LoRA Lab: evaluating ${name} failed: ${error.message}${error.hint ? ` ${error.hint}` : ''}`;
  ctx.log.error(`${error.code}: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
  const logs = await vscode.window.showErrorMessage(text, 'Show Logs');
  if (logs === 'Show Logs') ctx.log.show(true);
}

/**
 * Evaluates `targets` one after another with the same tasks and limit (asked once). Runs still
 * training or already being evaluated are refused with a message.
 */
export async function evaluateTargets(ctx: Ctx, targets: EvalTarget[]): Promise<void> {
  const ready = targets.filter(({ view }) => {
    if (view.state === 'running') {
      void vscode.window.showWarningMessage(`LoRA Lab: ${view.run.name} is still training; evaluate it when it has finished.`);
      return false;
    }
    if (inFlight.has(view.dir)) {
      void vscode.window.showInformationMessage(`LoRA Lab: ${view.run.name} is already being evaluated.`);
      return false;
    }
    return true;
  });
  if (ready.length === 0) return;
  const settings = await askSettings(ctx, ready[0]);
  if (!settings) return;
  for (const target of ready) {
    if (inFlight.has(target.view.dir)) continue;
    inFlight.add(target.view.dir);
    let outcome: EvalOutcome;
    try {
      outcome = await evaluateOne(ctx, target, settings.tasks, settings.limit);
    } finally {
      inFlight.delete(target.view.dir);
      ctx.runs.request();
    }
    // Not awaited: a message left in the notification centre must not hold up the next run.
    void report(ctx, target, outcome);
    if (outcome.kind === 'stopped' || (outcome.kind === 'done' && outcome.summary.status === 'stopped')) break;
  }
}
