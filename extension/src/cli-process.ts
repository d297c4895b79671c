// Runs the bundled CLI (dist/cli.js, the same file as the `lora-lab` command) as a child of the
// extension host for the palette commands Calibrate, Doctor and Runs: its output goes line by line
// to the LoRA Lab output channel, with a cancellable progress notification.
import * as vscode from 'vscode';
import type { Ctx } from './context';
import { forkTrainer, trainerForkOptions } from './trainer-process';

/** Runs `lora-lab <args>` in `cwd`; resolves with the exit code (null: not started or cancelled). */
export function runCliToChannel(ctx: Ctx, args: string[], title: string, cwd: string): Thenable<number | null> {
  ctx.log.info(`$ lora-lab ${args.join(' ')}`);
  ctx.log.show(true);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (progress, token) =>
      new Promise<number | null>((resolve) => {
        const options = {
          ...trainerForkOptions(cwd, 'ignore', 0),
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[],
          detached: false,
        };
        let child;
        try {
          child = forkTrainer(ctx.trainerEntry, args, options);
        } catch (error) {
          ctx.log.error(`lora-lab ${args[0]}: ${error instanceof Error ? error.message : String(error)}`);
          resolve(null);
          return;
        }
        const pending = { out: '', err: '' };
        const onText = (stream: 'out' | 'err') => (chunk: Buffer) => {
          const lines = (pending[stream] + chunk.toString('utf8')).split('\n');
          pending[stream] = lines.pop() ?? '';
          for (const line of lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim())) {
            if (stream === 'out') ctx.log.info(line);
            else ctx.log.warn(line);
            progress.report({ message: line.slice(0, 120) });
          }
        };
        child.stdout?.on('data', onText('out'));
        child.stderr?.on('data', onText('err'));
        token.onCancellationRequested(() => child.kill('SIGTERM'));
        child.on('error', (err) => {
          ctx.log.error(`lora-lab ${args[0]}: ${err.message}`);
          resolve(null);
        });
        child.on('exit', (code) => {
          for (const stream of ['out', 'err'] as const) if (pending[stream].trim()) ctx.log.info(pending[stream]);
          ctx.log.info(`lora-lab ${args[0]} exited with ${code ?? 'a signal'}`);
          resolve(token.isCancellationRequested ? null : code);
        });
      }),
  );
}

/** A folder to run the CLI in: the first workspace folder, else the extension's. */
export function cliCwd(ctx: Ctx): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? ctx.extension.extensionPath;
}
