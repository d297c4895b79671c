// Drives the real language server over a JSON-RPC stream: in process (PassThrough pairs and the
// server's own startServer) or as a child process with --stdio. Waits on events with deadlines.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';
import type { CodeAction, CodeLens, CompletionItem, CompletionList, Diagnostic, Hover, Position, Range } from 'vscode-languageserver-types';
import type { InitializeResult } from 'vscode-languageserver-protocol';
import { createConnection } from 'vscode-languageserver/node';
import { startServer } from '../../../language-server/src/server';
import type { FileSystem } from '../../../language-server/src/config';

export const FIXTURES = resolve(__dirname, '../../fixtures/lsp');
export const REPO_ROOT = resolve(__dirname, '../../..');

export function fixtureUri(name: string): string {
  return pathToFileURL(join(FIXTURES, name)).toString();
}

export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

interface Published {
  uri: string;
  version?: number;
  diagnostics: Diagnostic[];
}

export class LspSession {
  private readonly published: Published[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly versions = new Map<string, number>();
  /** publishCount when each document was last opened or changed: older diagnostics are stale. */
  private readonly sentAt = new Map<string, number>();

  private constructor(
    readonly rpc: MessageConnection,
    private readonly closeStreams: () => void,
  ) {
    rpc.onNotification('textDocument/publishDiagnostics', (params: Published) => {
      this.published.push(params);
      for (const wake of this.waiters.splice(0)) wake();
    });
    rpc.onRequest('workspace/codeLens/refresh', () => null);
    rpc.listen();
  }

  /** A server started in this process on a pair of in-memory streams (`analysisBudgetMs`: the server's default unless given). */
  static inProcess(fileSystem?: FileSystem, analysisBudgetMs?: number, hubCache?: string, slowAnalysisMs?: number): LspSession {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    startServer(
      createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient)),
      fileSystem,
      analysisBudgetMs,
      hubCache,
      slowAnalysisMs,
    );
    return LspSession.over(toClient, toServer, () => {
      toServer.end();
      toClient.end();
    });
  }

  /** The server as a child process: `node --import tsx language-server/src/server.ts --stdio`. */
  static spawned(): { session: LspSession; child: ChildProcess } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'language-server/src/server.ts', '--stdio'], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const session = LspSession.over(child.stdout!, child.stdin!, () => child.kill());
    return { session, child };
  }

  private static over(input: Readable, output: Writable, close: () => void): LspSession {
    return new LspSession(createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output)), close);
  }

  async initialize(): Promise<InitializeResult> {
    const result = await this.rpc.sendRequest<InitializeResult>('initialize', {
      processId: null,
      rootUri: pathToFileURL(FIXTURES).toString(),
      capabilities: { workspace: { codeLens: { refreshSupport: true } } },
    });
    await this.rpc.sendNotification('initialized', {});
    return result;
  }

  async open(uri: string, text: string): Promise<void> {
    this.versions.set(uri, 1);
    this.sentAt.set(uri, this.published.length);
    await this.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'lora-config', version: 1, text } });
  }

  /** Replaces `range` (or the whole text) with `text`; returns the new version. */
  async change(uri: string, text: string, range?: Range): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    this.sentAt.set(uri, this.published.length);
    await this.rpc.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: [range ? { range, text } : { text }],
    });
    return version;
  }

  /** How many diagnostics notifications arrived so far (pass it as `after` to wait for a newer one). */
  get publishCount(): number {
    return this.published.length;
  }

  /** The document versions of the diagnostics published for `uri` after the first `after` notifications. */
  publishedVersions(uri: string, after = 0): Array<number | undefined> {
    return this.published
      .slice(after)
      .filter((entry) => entry.uri === uri)
      .map((entry) => entry.version);
  }

  /**
   * The latest diagnostics published for `uri`'s current version since it was last opened or changed
   * (or since the first `after` notifications); fails after `timeoutMs`.
   */
  async diagnostics(uri: string, after = this.sentAt.get(uri) ?? 0, timeoutMs = 5000): Promise<Diagnostic[]> {
    const deadline = Date.now() + timeoutMs;
    const version = this.versions.get(uri);
    while (true) {
      const found = this.published
        .slice(after)
        .reverse()
        .find((entry) => entry.uri === uri && (entry.version === undefined || entry.version === version));
      if (found) return found.diagnostics;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no diagnostics for ${uri} version ${version} within ${timeoutMs} ms`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  async close(uri: string): Promise<void> {
    this.versions.delete(uri);
    await this.rpc.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  async completion(uri: string, position: Position): Promise<CompletionItem[]> {
    const result = await this.rpc.sendRequest<CompletionItem[] | CompletionList | null>('textDocument/completion', {
      textDocument: { uri },
      position,
    });
    return Array.isArray(result) ? result : (result?.items ?? []);
  }

  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.rpc.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
  }

  codeLens(uri: string): Promise<CodeLens[]> {
    return this.rpc.sendRequest<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
  }

  codeActions(uri: string, range: Range, diagnostics: Diagnostic[] = []): Promise<CodeAction[]> {
    return this.rpc.sendRequest<CodeAction[]>('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics } });
  }

  async watchedFilesChanged(uri: string): Promise<void> {
    await this.rpc.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri, type: 2 }] });
  }

  async shutdown(): Promise<void> {
    await this.rpc.sendRequest('shutdown');
    this.rpc.dispose();
    this.closeStreams();
  }
}

/** Applies LSP text edits (non-overlapping) to `text`. */
export function applyEdits(text: string, edits: Array<{ range: Range; newText: string }>): string {
  const lines = text.split('\n');
  const offset = (position: Position): number =>
    lines.slice(0, position.line).reduce((sum, line) => sum + line.length + 1, 0) + position.character;
  return [...edits]
    .sort((a, b) => offset(b.range.start) - offset(a.range.start))
    .reduce((result, edit) => result.slice(0, offset(edit.range.start)) + edit.newText + result.slice(offset(edit.range.end)), text);
}
