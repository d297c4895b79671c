// "LoRA Lab: Chat with Model": from a run (Runs view, dashboard, a run folder argument) chats with
// its base model and its adapter side by side; from the palette the user picks a run's adapter, a
// checkpoint of it, a merged folder, or a model folder alone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChatFormat, ChatTarget } from '../../../webview/src/chat/protocol';
import { baseCheckpointOf, parseConfigText } from '../config-file';
import type { Cmd, Ctx } from '../context';
import type { RunView } from '../runs-model';
import { checkpointOfArg, runDirOfArg } from './pick-run';

/** data.prompt_style of a run's config.yaml as a chat format ('chat' is the template). */
export function runPromptFormat(runDir: string): ChatFormat | undefined {
  try {
    const file = path.join(runDir, 'config.yaml');
    const style = parseConfigText(fs.readFileSync(file, 'utf8'), file)?.config.data.prompt_style;
    return style === 'alpaca' || style === 'plain' ? style : style === 'chat' ? 'template' : undefined;
  } catch {
    return undefined;
  }
}

/** The adapter folders of a run: its final adapter, then each checkpoint's (newest first). */
export function runAdapters(runDir: string): { label: string; dir: string }[] {
  const out: { label: string; dir: string }[] = [];
  if (fs.existsSync(path.join(runDir, 'adapter', 'adapter_config.json'))) out.push({ label: 'adapter', dir: path.join(runDir, 'adapter') });
  const checkpoints = path.join(runDir, 'checkpoints');
  if (fs.existsSync(checkpoints)) {
    for (const name of fs.readdirSync(checkpoints).sort().reverse()) {
      if (fs.existsSync(path.join(checkpoints, name, 'adapter_config.json')))
        out.push({ label: `checkpoint ${name}`, dir: path.join(checkpoints, name) });
    }
  }
  return out;
}

/** The chat target of a run's adapter (or of the base alone when it has none), or an error line. */
export function runTarget(view: RunView, adapter?: { label: string; dir: string }): ChatTarget | string {
  const checkpoint = baseCheckpointOf(view.dir, view.run.configPath);
  if (!checkpoint || !fs.existsSync(path.join(checkpoint, 'config.json')))
    return `the base model of ${view.run.name} (${checkpoint ?? 'model.checkpoint in its config.yaml'}) was not found`;
  const chosen = adapter ?? runAdapters(view.dir)[0];
  const label = chosen ? `${view.run.name} (${chosen.label})` : `${path.basename(checkpoint)} (base; ${view.run.name} has no adapter yet)`;
  return { checkpoint, adapter: chosen?.dir ?? null, label, promptStyle: runPromptFormat(view.dir) };
}

type Pick = vscode.QuickPickItem & { target?: ChatTarget; error?: string; browse?: boolean };

export function chatWithModel(ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const dir = runDirOfArg(arg);
    if (dir) {
      ctx.runs.refreshNow();
      const view = ctx.runs.store.view(dir);
      if (!view) return void vscode.window.showErrorMessage(`LoRA Lab: ${dir} is not a run folder (no run.json).`);
      const checkpoint = checkpointOfArg(arg);
      const target = runTarget(
        view,
        checkpoint ? { label: `checkpoint ${path.basename(checkpoint.dir)}`, dir: checkpoint.dir } : undefined,
      );
      if (typeof target === 'string') return void vscode.window.showErrorMessage(`LoRA Lab: ${target}.`);
      ctx.chats.open(target);
      return;
    }
    const items: Pick[] = [];
    for (const view of ctx.runs.views()) {
      for (const adapter of runAdapters(view.dir)) {
        const target = runTarget(view, adapter);
        items.push(
          typeof target === 'string'
            ? { label: `${view.run.name}: ${adapter.label}`, description: 'base model not found', error: target }
            : { label: `${view.run.name}: ${adapter.label}`, description: 'base vs finetune', detail: adapter.dir, target },
        );
      }
      const merged = path.join(view.dir, 'merged');
      if (fs.existsSync(path.join(merged, 'config.json')))
        items.push({
          label: `${view.run.name}: merged`,
          description: 'merged model alone',
          detail: merged,
          target: { checkpoint: merged, adapter: null, label: `${view.run.name} (merged)`, promptStyle: runPromptFormat(view.dir) },
        });
    }
    items.push({
      label: '$(folder) Choose a model folder…',
      description: 'a Hugging Face checkpoint (config.json + safetensors + tokenizer)',
      browse: true,
    });
    const picked = await vscode.window.showQuickPick(items, { placeHolder: 'Model to chat with' });
    if (!picked) return;
    if (picked.error) return void vscode.window.showErrorMessage(`LoRA Lab: ${picked.error}.`);
    if (picked.target) {
      ctx.chats.open(picked.target);
      return;
    }
    const folders = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Chat with this model',
    });
    const folder = folders?.[0]?.fsPath;
    if (!folder) return;
    if (!fs.existsSync(path.join(folder, 'config.json')))
      return void vscode.window.showErrorMessage(`LoRA Lab: ${folder} is not a model folder (no config.json).`);
    ctx.chats.open({ checkpoint: folder, adapter: null, label: path.basename(folder) });
  };
}
