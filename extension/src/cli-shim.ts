// The `lora-lab` command for the integrated terminal without touching system files: a shim in the
// extension's global storage runs VS Code's own binary (process.execPath) as Node
// (ELECTRON_RUN_AS_NODE=1) on the bundled dist/cli.js, and the extension's environment variable
// collection puts its folder first on the PATH of new terminals.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';

/** globalState key: the user asked for the CLI on the PATH (the shim is rewritten at each activation). */
export const CLI_ON_PATH_KEY = 'loraLab.cliOnPath';

const quoteSh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Writes the shim (`lora-lab`, or `lora-lab.cmd` on Windows) into `binDir` atomically; returns its path. */
export function writeCliShim(binDir: string, execPath: string, cliPath: string, platform: NodeJS.Platform = process.platform): string {
  fs.mkdirSync(binDir, { recursive: true });
  const windows = platform === 'win32';
  const file = path.join(binDir, windows ? 'lora-lab.cmd' : 'lora-lab');
  const text = windows
    ? `@echo off\r\nrem lora-lab, written by the LoRA Lab extension: VS Code's binary as Node on the bundled CLI.\r\nset ELECTRON_RUN_AS_NODE=1\r\n"${execPath}" "${cliPath}" %*\r\n`
    : `#!/bin/sh\n# lora-lab, written by the LoRA Lab extension: VS Code's binary as Node on the bundled CLI.\nELECTRON_RUN_AS_NODE=1 exec ${quoteSh(execPath)} ${quoteSh(cliPath)} "$@"\n`;
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o755 });
  fs.renameSync(temp, file);
  return file;
}

/** Writes the shim and prepends its folder to the PATH of new integrated terminals; returns the folder. */
export function installCliOnPath(extension: vscode.ExtensionContext, cliPath: string): string {
  const binDir = path.join(extension.globalStorageUri.fsPath, 'bin');
  writeCliShim(binDir, process.execPath, cliPath);
  const collection = extension.environmentVariableCollection;
  collection.persistent = true;
  collection.description = 'Puts the lora-lab command (LoRA Lab) on the PATH';
  collection.prepend('PATH', binDir + path.delimiter);
  return binDir;
}
