// Starts the LoRA Lab language client in the extension host: dist/server.js over IPC for
// 'lora-config' documents, with a file watcher so checkpoint, dataset and eval-data changes re-check open configs.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

export const LANGUAGE_ID = 'lora-config';
/** The server bundle scripts/build.mjs writes, relative to the extension root. */
export const SERVER_BUNDLE = 'dist/server.js';
/** Files whose creation, change or deletion can change a config's problems or its code lens. */
export const WATCHED_FILES = '**/*.{json,jsonl,csv,safetensors,bin,pth,pt,task.yaml,task.yml}';

/**
 * Starts the language server and its client; the host calls this from activate. The client is
 * disposed with the extension (context.subscriptions); its log goes to `log`.
 */
export async function startLanguageClient(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<LanguageClient> {
  const module = context.asAbsolutePath(SERVER_BUNDLE);
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const watcher = vscode.workspace.createFileSystemWatcher(WATCHED_FILES);
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: LANGUAGE_ID },
      { scheme: 'untitled', language: LANGUAGE_ID },
    ],
    synchronize: { fileEvents: watcher },
    diagnosticCollectionName: 'lora-lab',
    outputChannel: log,
  };
  const client = new LanguageClient('loraLab', 'LoRA Lab Config', serverOptions, clientOptions);
  context.subscriptions.push(watcher, client);
  await client.start();
  return client;
}
