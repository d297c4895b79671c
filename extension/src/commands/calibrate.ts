// "LoRA Lab: Calibrate": `lora-lab calibrate [--quick]` from the palette (output in the LoRA Lab
// channel); afterwards the language server re-estimates, so the code lens shows times.
import * as vscode from 'vscode';
import { MODELS_CHANGED_NOTIFICATION } from '../../../language-server/src/service/hub-commands';
import { cliCwd, runCliToChannel } from '../cli-process';
import type { Cmd, Ctx } from '../context';

export function calibrate(ctx: Ctx): Cmd {
  return async () => {
    const mode = await vscode.window.showQuickPick(
      [
        { label: 'Quick', description: 'about a minute: enough for the time estimate', args: ['--quick'] },
        { label: 'Full', description: 'several minutes: more sizes, a closer estimate', args: [] as string[] },
      ],
      { placeHolder: "Measure this machine's training throughput for the time estimates" },
    );
    if (!mode) return;
    const code = await runCliToChannel(ctx, ['calibrate', ...mode.args], 'LoRA Lab: calibrating', cliCwd(ctx));
    if (code === 0) {
      ctx.notifyServer?.(MODELS_CHANGED_NOTIFICATION);
      void vscode.window.showInformationMessage('LoRA Lab: calibrated; the code lens now estimates training time.');
    } else if (code !== null) {
      void vscode.window.showErrorMessage(`LoRA Lab: calibration failed (exit ${code}); see the LoRA Lab output.`);
    }
  };
}
