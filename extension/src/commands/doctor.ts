// "LoRA Lab: Doctor": `lora-lab doctor` from the palette: what the engine computes with (CPU, SIMD
// path, memory, CUDA devices), printed in the LoRA Lab output channel.
import * as vscode from 'vscode';
import { cliCwd, runCliToChannel } from '../cli-process';
import type { Cmd, Ctx } from '../context';

export function doctor(ctx: Ctx): Cmd {
  return async () => {
    const code = await runCliToChannel(ctx, ['doctor'], 'LoRA Lab: doctor', cliCwd(ctx));
    if (code !== 0 && code !== null)
      void vscode.window.showErrorMessage(`LoRA Lab: doctor failed (exit ${code}); see the LoRA Lab output.`);
  };
}
