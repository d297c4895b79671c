// "LoRA Lab: Start LoRA Run": picks the active *.lora.yaml (or one from the workspace), refuses
// with the config's problems when it has errors, and queues the run (a sweep: all its variants).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseConfig } from '../../../language-server/src/config';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
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
    void vscode.window.showErrorMessage('LoRA Lab: no *.lora.yaml config in this workspace. Run "LoRA Lab: Create Example Config" to get one.');
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
}

export function planStart(text: string, configPath: string): StartPlan {
  const parsed = parseConfig(text, configPath, nodeFileSystem);
  const errors = parsed.problems.filter((p) => p.severity === 'error').map((p) => `line ${p.range.start.line + 1}: ${p.message}`);
  return { errors, name: parsed.config.name, device: deviceKey(parsed.config.device), variants: Math.max(1, parsed.variants.length) };
}

export function startRun(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    if (!allowedByTrust(ctx, 'start')) return;
    const uri = arg instanceof vscode.Uri && isLoraConfig(arg) ? arg : await pickConfig();
    if (!uri) return;
    await vscode.workspace.saveAll(false);
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    const plan = planStart(text, uri.fsPath);
    if (plan.errors.length) {
      const name = path.basename(uri.fsPath);
      const { errors } = plan;
      ctx.log.warn(`not starting ${name}: ${errors.join('; ')}`);
      void vscode.window.showErrorMessage(`LoRA Lab: ${name} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix them to start a run.`, {
        modal: true,
        detail: errors.slice(0, 20).join('\n'),
      });
      return;
    }
    // One trainer process runs every variant of a sweep in order (one sweep id groups them).
    const label = plan.variants > 1 ? `${plan.name} (sweep of ${plan.variants})` : plan.name;
    ctx.manager.enqueue([{ request: { configPath: uri.fsPath }, device: plan.device, label }]);
    ctx.log.info(`queued ${label} from ${uri.fsPath} (device ${plan.device})`);
    void vscode.commands.executeCommand('loraLab.runs.focus');
  };
}
