// "LoRA Lab: Inspect Dataset" (also the code lens on a config's `data:` key): the dataset panel of
// a config, beside it. The panels and their serializer live as long as the extension.
import * as vscode from 'vscode';
import type { Cmd, Ctx } from '../context';
import { DatasetPanels } from '../dataset/dataset-panels';
import { isLoraConfig } from './start-run';

export function inspectDataset(ctx: Ctx): Cmd {
  const panels = new DatasetPanels({ extensionUri: ctx.extension.extensionUri, trainerEntry: ctx.trainerEntry, log: ctx.log });
  ctx.extension.subscriptions.push(panels);
  return async (arg?: unknown) => {
    const uri =
      typeof arg === 'string' ? vscode.Uri.parse(arg) : arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    if (!uri || !isLoraConfig(uri)) {
      void vscode.window.showWarningMessage('LoRA Lab: open a *.lora.yaml config to inspect its dataset.');
      return;
    }
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    // The child reads the config from disk: unsaved edits of the data section would not show.
    if (document?.isDirty) await document.save();
    panels.open(uri.fsPath);
  };
}
