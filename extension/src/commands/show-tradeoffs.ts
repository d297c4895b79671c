// "LoRA Lab: Show Memory/Time Trade-offs": the estimator's table for a config (one row per sweep
// variant: trainable parameters, peak memory by category, time) opened beside the config.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { newestCalibration } from '../../../language-server/src/lib/calibration-file';
import { parseConfig } from '../../../language-server/src/config/parse';
import { nodeFileSystem } from '../../../language-server/src/config/node-fs';
import { estimate } from '../../../language-server/src/estimator';
import { formatBytes, formatDuration } from '../../../language-server/src/lib/format';
import type { LoraLabConfig } from '../../../language-server/src/config/types';
import type { Cmd, Ctx } from '../context';
import { isLoraConfig } from './start-run';

function describe(overrides: Record<string, unknown>): string {
  const parts = Object.entries(overrides).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return parts.length ? parts.join(', ') : '(base config)';
}

/** The Markdown table for a config file's text; pure apart from reading the checkpoint's config.json. */
export function tradeoffTable(configPath: string, text: string): string {
  const parsed = parseConfig(text, configPath, nodeFileSystem);
  const variants: { index: number | null; overrides: Record<string, unknown>; config: LoraLabConfig }[] =
    parsed.config.sweep.length > 0 ? parsed.variants : [{ index: null, overrides: {}, config: parsed.config }];
  const lines = [
    `# Memory / time trade-offs: ${path.basename(configPath)}`,
    '',
    'Estimated by LoRA Lab before training (peak by the engine\'s own categories; time from `lora-lab calibrate`).',
    '',
    '| variant | settings | trainable params | peak memory | weights | params + grads + optimizer | activations | time |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  if (variants.length === 0) lines.push('| - | the sweep has no valid variant: see the Problems panel | | | | | | |');
  for (const variant of variants) {
    const config = variant.config;
    let model: unknown;
    try {
      model = JSON.parse(fs.readFileSync(path.join(config.model.checkpoint, 'config.json'), 'utf8'));
    } catch {
      lines.push(`| ${variant.index ?? '-'} | ${describe(variant.overrides)} | ${config.model.checkpoint}/config.json cannot be read | | | | | |`);
      continue;
    }
    const device = config.device.startsWith('cuda') ? 'cuda' : 'cpu';
    try {
      const result = estimate(config, model, { device, calibration: newestCalibration(device) });
      const m = result.memory.bytesByCategory;
      const time = result.time.seconds === null ? (result.time.steps === null ? 'set train.max_steps' : 'uncalibrated') : formatDuration(result.time.seconds);
      lines.push(
        `| ${variant.index ?? '-'} | ${describe(variant.overrides)} | ${result.params.trainable.toLocaleString('en-US')} | ${formatBytes(result.memory.peakBytes)} | ` +
          `${formatBytes((m.weights ?? 0) + (m.quant_constants ?? 0))} | ${formatBytes((m.lora_params ?? 0) + (m.grads ?? 0) + (m.optimizer_state ?? 0))} | ${formatBytes(m.activations ?? 0)} | ${time} |`,
      );
    } catch (error) {
      lines.push(`| ${variant.index ?? '-'} | ${describe(variant.overrides)} | ${(error as Error).message} | | | | | |`);
    }
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
