// "LoRA Lab: Start LoRA Run": picks the active *.lora.yaml (or one from the workspace), refuses
// with the config's problems when it has errors, asks once per config and session before runs are
// written outside the workspace, and queues the run (a sweep: all its variants).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseConfig, pathsOutsideWorkspace } from '../../../language-server/src/config';
import { hubCacheDir, nodeFileSystem } from '../../../language-server/src/config/node-fs';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { formatDuration } from '../../../language-server/src/lib/format';
import { totalTimeOf } from '../config-estimate';
import { deviceKey } from '../config-file';
import type { Cmd, Ctx } from '../context';
import { allowedByTrust } from './pick-run';

export function isLoraConfig(uri: vscode.Uri): boolean {
  return /\.lora\.ya?ml$/i.test(uri.path);
}

async function pickConfig(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && isLoraConfig(active)) return active;
  const found = await vscode.workspace.findFiles('**/*.{lora.yaml,lora.yml}', '**/node_modules/**', 200);
  if (found.length === 0) {
    void vscode.window.showErrorMessage(
      'LoRA Lab: no *.lora.yaml config in this workspace. Run "LoRA Lab: Create Example Config" to get one.',
    );
    return undefined;
  }
  if (found.length === 1) return found[0];
  const items = found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }));
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Config to train' }))?.uri;
}

/** What starting a config means: its errors (by the config language, files checked), name, device, variants. */
export interface StartPlan {
  errors: string[];
  name: string;
  device: string;
  variants: number;
  /** out_dir values (of any variant) outside `workspaceFolders`: runs would be written there. */
  writesOutside: string[];
  /** The resolved config of every run it makes (each sweep variant's). */
  configs: LoraLabConfig[];
}

export function planStart(text: string, configPath: string, workspaceFolders: readonly string[] = []): StartPlan {
  const parsed = parseConfig(text, configPath, nodeFileSystem, { hubCache: hubCacheDir() });
  // A checkpoint with config.json alone is fine for the estimate, not for training (the trainer refuses too).
  const errors = parsed.problems
    .filter((p) => p.severity === 'error' || p.code === 'checkpoint-weights-missing')
    .map((p) => `line ${p.range.start.line + 1}: ${p.message}`);
  const configs = parsed.variants.length ? parsed.variants.map((variant) => variant.config) : [parsed.config];
  const writesOutside = pathsOutsideWorkspace(configs, { folders: workspaceFolders, cacheFolders: [] })
    .filter((found) => found.key === 'out_dir')
    .map((found) => found.path);
  return {
    errors,
    name: parsed.config.name,
    device: deviceKey(parsed.config.device),
    variants: Math.max(1, parsed.variants.length),
    writesOutside,
    configs,
  };
}

export const WRITE_OUTSIDE = 'Write There';
export const START_SWEEP = 'Start Sweep';
/** A sweep of more variants than this asks before it starts. */
export const SWEEP_CONFIRM_ABOVE = 3;

/** The question and detail of Start's confirmation of a sweep of `variants` runs. */
export function sweepConfirmation(variants: number, total: { seconds: number; unknown: number; reason?: string }): [string, string] {
  const known = variants - total.unknown;
  const time =
    known === 0
      ? `Estimated total time: unknown (${total.reason ?? 'no estimate'}).`
      : `Estimated total time: ${formatDuration(total.seconds)}${total.unknown ? ` for ${known} of the ${variants} variants (the others: ${total.reason ?? 'no estimate'})` : ''}.`;
  return [
    `Start a sweep of ${variants} variants?`,
    `${time}\nThe variants train one after another in one trainer; each can be stopped on its own (Stop Variant) or all together (Stop Sweep).`,
  ];
}

/**
 * Asks before runs are written outside the workspace; a confirmation is remembered for this config and
 * these folders until the window closes (`confirmed`), a refusal is not (the next Start asks again).
 */
async function confirmWritesOutside(ctx: Ctx, configPath: string, folders: string[], confirmed: Map<string, string>): Promise<boolean> {
  const answerKey = JSON.stringify(folders);
  if (confirmed.get(configPath) === answerKey) return true;
  const name = path.basename(configPath);
  const answer = await vscode.window.showWarningMessage(
    `LoRA Lab: ${name} writes its runs outside the workspace, to ${folders.join(', ')}. Start anyway?`,
    {
      modal: true,
      detail: 'out_dir is outside every workspace folder (a ../ or absolute path). LoRA Lab asks once per config in this window.',
    },
    WRITE_OUTSIDE,
  );
  if (answer !== WRITE_OUTSIDE) {
    ctx.log.info(`not starting ${name}: writing outside the workspace (${folders.join(', ')}) was not confirmed`);
    return false;
  }
  confirmed.set(configPath, answerKey);
  return true;
}

export function startRun(ctx: Ctx): Cmd {
  /** Configs whose writes outside the workspace were confirmed in this window: config path -> the folders. */
  const confirmedOutside = new Map<string, string>();
  return async (arg?: unknown) => {
    if (!allowedByTrust(ctx, 'start')) return;
    const uri = arg instanceof vscode.Uri && isLoraConfig(arg) ? arg : await pickConfig();
    if (!uri) return;
    await vscode.workspace.saveAll(false);
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    const plan = planStart(
      text,
      uri.fsPath,
      (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.fsPath),
    );
    if (plan.errors.length) {
      const name = path.basename(uri.fsPath);
      const { errors } = plan;
      ctx.log.warn(`not starting ${name}: ${errors.join('; ')}`);
      void vscode.window.showErrorMessage(
        `LoRA Lab: ${name} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix them to start a run.`,
        { modal: true, detail: errors.slice(0, 20).join('\n') },
      );
      return;
    }
    if (plan.writesOutside.length && !(await confirmWritesOutside(ctx, uri.fsPath, plan.writesOutside, confirmedOutside))) return;
    if (plan.variants > SWEEP_CONFIRM_ABOVE) {
      const [question, detail] = sweepConfirmation(plan.variants, totalTimeOf(plan.configs));
      const answer = await vscode.window.showWarningMessage(question, { modal: true, detail }, START_SWEEP);
      if (answer !== START_SWEEP) {
        ctx.log.info(`not starting the sweep of ${plan.variants} variants of ${uri.fsPath}: not confirmed`);
        return;
      }
    }
    // One trainer process runs every variant of a sweep in order (one sweep id groups them).
    const label = plan.variants > 1 ? `${plan.name} (sweep of ${plan.variants})` : plan.name;
    ctx.manager.enqueue([{ request: { configPath: uri.fsPath }, device: plan.device, label }]);
    ctx.log.info(`queued ${label} from ${uri.fsPath} (device ${plan.device})`);
    void vscode.commands.executeCommand('loraLab.runs.focus');
  };
}
