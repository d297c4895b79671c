// "LoRA Lab: Start LoRA Run": picks the active *.lora.yaml (or one from the workspace), refuses
// with the config's problems when it has errors, and queues the run (every variant of a sweep).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseConfigText, readConfigPlan } from '../config-file';
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

/** The config's errors: the language server's error diagnostics, or a YAML that does not parse. */
export async function configErrors(uri: vscode.Uri): Promise<string[]> {
  const problems = vscode.languages
    .getDiagnostics(uri)
    .filter((d) => d.severity === vscode.DiagnosticSeverity.Error)
    .map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  if (problems.length) return problems;
  const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  return parseConfigText(text) === undefined ? ['the file is not valid YAML'] : [];
}

export function startRun(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    if (!allowedByTrust(ctx, 'start')) return;
    const uri = arg instanceof vscode.Uri && isLoraConfig(arg) ? arg : await pickConfig();
    if (!uri) return;
    await vscode.workspace.saveAll(false);
    const errors = await configErrors(uri);
    if (errors.length) {
      const name = path.basename(uri.fsPath);
      ctx.log.warn(`not starting ${name}: ${errors.join('; ')}`);
      void vscode.window.showErrorMessage(`LoRA Lab: ${name} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix them to start a run.`, {
        modal: true,
        detail: errors.slice(0, 20).join('\n'),
      });
      return;
    }
    const plan = readConfigPlan(uri.fsPath);
    const entries = Array.from({ length: plan.variants }, (_, i) => ({
      request: { configPath: uri.fsPath, variant: plan.variants > 1 ? i : undefined },
      device: plan.device,
      label: plan.variants > 1 ? `${plan.name} [${i + 1}/${plan.variants}]` : plan.name,
    }));
    ctx.manager.enqueue(entries);
    ctx.log.info(`queued ${entries.length} run${entries.length === 1 ? '' : 's'} of ${uri.fsPath} (device ${plan.device})`);
    void vscode.commands.executeCommand('loraLab.runs.focus');
  };
}
