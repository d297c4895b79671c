// "LoRA Lab: Show Memory/Time Trade-offs": the estimator's table for a config (one row per sweep
// variant: trainable parameters, peak memory by category, time) opened beside the config.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseConfig } from '../../../language-server/src/config/parse';
import { hubCacheDir, nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import { estimateOf } from '../config-estimate';
import type { Cmd, Ctx } from '../context';
import { isLoraConfig } from './start-run';

function describe(overrides: Record<string, unknown>): string {
  const parts = Object.entries(overrides).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return parts.length ? parts.join(', ') : '(base config)';
}

/** The Markdown table for a config file's text: the same estimate path as the code lens and `lora-lab estimate`. */
export function tradeoffTable(configPath: string, text: string): string {
  const parsed = parseConfig(text, configPath, nodeFileSystem, { hubCache: hubCacheDir() });
  const variants: { index: number | null; overrides: Record<string, unknown>; config: LoraLabConfig }[] =
    parsed.config.sweep.length > 0 ? parsed.variants : [{ index: null, overrides: {}, config: parsed.config }];
  const lines = [
    `# Memory / time trade-offs: ${path.basename(configPath)}`,
    '',
    "Estimated by LoRA Lab before training (peak by the engine's own categories on the data's longest example, else data.max_seq_length; time from `lora-lab calibrate`).",
    '',
    '| variant | settings | trainable params | peak memory | weights | params + grads + optimizer | activations | time |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  if (variants.length === 0) lines.push('| - | the sweep has no valid variant: see the Problems panel | | | | | | |');
  for (const variant of variants) {
    const result = estimateOf(variant.config);
    if (!result.estimate) {
      lines.push(`| ${variant.index ?? '-'} | ${describe(variant.overrides)} | ${result.error} | | | | | |`);
      continue;
    }
    const { params, memory, time: timeEstimate } = result.estimate;
    const m = memory.bytesByCategory;
    const time =
      timeEstimate.seconds === null
        ? timeEstimate.steps === null
          ? 'set train.max_steps'
          : 'uncalibrated'
        : formatDuration(timeEstimate.seconds);
    lines.push(
      `| ${variant.index ?? '-'} | ${describe(variant.overrides)} | ${params.trainable.toLocaleString('en-US')} | ${formatBytes(memory.peakBytes)} | ` +
        `${formatBytes((m.weights ?? 0) + (m.quant_constants ?? 0))} | ${formatBytes((m.lora_params ?? 0) + (m.grads ?? 0) + (m.optimizer_state ?? 0))} | ${formatBytes(m.activations ?? 0)} | ${time} |`,
    );
  }
  return lines.join('\n') + '\n';
}

export function showTradeoffs(_ctx: Ctx): Cmd {
  return async (arg?: unknown) => {
    const uri =
      typeof arg === 'string' ? vscode.Uri.parse(arg) : arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    if (!uri || !isLoraConfig(uri)) {
      void vscode.window.showWarningMessage('LoRA Lab: open a *.lora.yaml config to see its memory/time trade-offs.');
      return;
    }
    const document = await vscode.workspace.openTextDocument(uri);
    const content = tradeoffTable(uri.fsPath, document.getText());
    const table = await vscode.workspace.openTextDocument({ content, language: 'markdown' });
    await vscode.window.showTextDocument(table, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  };
}
