// One chat webview ("LoRA Lab: Chat with Model"): strict CSP with a nonce, the conversation kept in
// the webview's state (restored after a reload), generations relayed to the base model's chat child
// by request id; the finetune side switches the adapter on, the base side off, over one model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChatToHost } from '../../../native/trainer/chat-protocol';
import {
  isChatViewToHost,
  type ChatModelStatus,
  type ChatTarget,
  type ChatViewToHost,
  type HostToChatView,
} from '../../../webview/src/chat/protocol';
import { dashboardHtml, makeNonce } from '../dashboard/dashboard-html';
import type { RunManager } from '../run-manager';
import type { ChatModel, ChatModels } from './chat-models';
import { panelWebviewOptions } from '../webview-options';

export interface ChatDeps {
  extensionUri: vscode.Uri;
  models: ChatModels;
  manager: RunManager;
  log: vscode.LogOutputChannel;
}

/** The model status the webview shows for a child's load message (null: still loading). */
export function modelStatusOf(message: ChatToHost | null): ChatModelStatus {
  if (message?.type === 'ready')
    return { state: 'ready', device: message.device, hasChatTemplate: message.hasChatTemplate, loadSeconds: message.loadSeconds };
  if (message?.type === 'load-failed') return { state: 'failed', code: message.code, message: message.message };
  return { state: 'loading' };
}

/** A line about training runs in progress (they share the machine with the chat), or undefined. */
export function trainingNotice(active: readonly { name?: string; label: string; device: string }[]): string | undefined {
  if (active.length === 0) return undefined;
  const names = active.map((run) => `${run.name ?? run.label} (${run.device})`).join(', ');
  return `A training run is in progress: ${names}. The chat runs on the CPU beside it, so answers come slower until it ends.`;
}

/** Writes `text` to `file` through a temporary file and a rename. */
export function writeFileAtomic(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

export class ChatPanel {
  static readonly viewType = 'loraLab.chat';
  private ready = false;
  /** This panel's generations in flight and their text so far. */
  private readonly requests = new Map<string, string>();
  private readonly model: ChatModel;
  private readonly disposables: { dispose(): void }[] = [];
  private readonly onDisposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.onDisposed.event;

  static create(deps: ChatDeps, target: ChatTarget): ChatPanel {
    const panel = vscode.window.createWebviewPanel(
      ChatPanel.viewType,
      `Chat: ${target.label}`,
      vscode.ViewColumn.Active,
      panelWebviewOptions(deps.extensionUri),
    );
    return new ChatPanel(panel, deps, target);
  }

  static revive(panel: vscode.WebviewPanel, deps: ChatDeps, target: ChatTarget): ChatPanel {
    panel.webview.options = panelWebviewOptions(deps.extensionUri);
    return new ChatPanel(panel, deps, target);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: ChatDeps,
    readonly target: ChatTarget,
  ) {
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'activity.svg');
    panel.title = `Chat: ${target.label}`;
    panel.webview.html = this.html();
    this.model = deps.models.acquire(target.checkpoint);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
      panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)),
      this.model.subscribe((message) => this.fromModel(message)),
    );
  }

  reveal(): void {
    this.panel.reveal(undefined, false);
  }

  private html(): string {
    const webview = this.panel.webview;
    const asUri = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...parts)).toString();
    return dashboardHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist', 'webview', 'chat.js'),
      styleUris: [asUri('media', 'chat.css')],
      title: `Chat ${this.target.label}`,
    });
  }

  private post(message: HostToChatView): void {
    if (this.ready) void this.panel.webview.postMessage(message);
  }

  private postModel(): void {
    const inFlight = [...this.requests].map(([requestId, text]) => ({ requestId, text }));
    this.post({
      type: 'model',
      target: this.target,
      status: modelStatusOf(this.model.status),
      notice: trainingNotice(this.deps.manager.active()),
      inFlight,
    });
  }

  private fromModel(message: ChatToHost): void {
    if (message.type === 'ready' || message.type === 'load-failed') {
      this.postModel();
      if (message.type === 'load-failed')
        for (const id of this.requests.keys()) this.post({ type: 'error', requestId: id, message: message.message });
      if (message.type === 'load-failed') this.requests.clear();
      return;
    }
    if (!this.requests.has(message.id)) return;
    switch (message.type) {
      case 'prompt':
        return this.post({ type: 'prompt', requestId: message.id, text: message.text, tokens: message.tokens });
      case 'token':
        this.requests.set(message.id, this.requests.get(message.id)! + message.text);
        return this.post({ type: 'token', requestId: message.id, text: message.text });
      case 'done':
        this.requests.delete(message.id);
        return this.post({
          type: 'done',
          requestId: message.id,
          tokens: message.tokens,
          tokensPerSecond: message.tokensPerSecond,
          reason: message.reason,
        });
      case 'error':
        this.requests.delete(message.id);
        return this.post({ type: 'error', requestId: message.id, message: message.message });
    }
  }

  private async receive(message: unknown): Promise<void> {
    if (!isChatViewToHost(message)) {
      this.deps.log.warn(`chat: ignored an unknown message ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    await this.handle(message);
  }

  private async handle(message: ChatViewToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.postModel();
        return;
      case 'generate': {
        const adapter = message.side === 'finetune' ? this.target.adapter : null;
        if (message.side === 'finetune' && !adapter) {
          this.post({ type: 'error', requestId: message.requestId, message: 'this chat has no adapter: only the base model answers' });
          return;
        }
        this.requests.set(message.requestId, '');
        const sent = this.model.send({
          type: 'generate',
          id: message.requestId,
          adapter,
          turns: message.turns,
          format: message.format,
          sampling: message.sampling,
        });
        if (!sent) {
          this.requests.delete(message.requestId);
          this.post({ type: 'error', requestId: message.requestId, message: 'the chat model is not running; reopen the chat' });
        }
        return;
      }
      case 'stop':
        for (const id of message.requestIds) if (this.requests.has(id)) this.model.send({ type: 'stop', id });
        return;
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        void vscode.window.setStatusBarMessage('LoRA Lab: copied to the clipboard', 2000);
        return;
      case 'showPrompt': {
        const document = await vscode.workspace.openTextDocument({ content: message.text, language: 'plaintext' });
        await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true });
        return;
      }
      case 'export': {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const name = `chat-${this.target.label.replace(/[^A-Za-z0-9._-]+/g, '-')}.md`;
        const uri = await vscode.window.showSaveDialog({
          defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
          filters: { Markdown: ['md'] },
          title: 'Export the conversation as Markdown',
        });
        if (!uri) return;
        try {
          writeFileAtomic(uri.fsPath, message.markdown);
          void vscode.window.showInformationMessage(`LoRA Lab: conversation exported to ${path.basename(uri.fsPath)}.`);
        } catch (error) {
          void vscode.window.showErrorMessage(`LoRA Lab: could not write ${uri.fsPath}: ${(error as Error).message}`);
        }
        return;
      }
    }
  }

  dispose(): void {
    const disposables = this.disposables.splice(0);
    if (disposables.length === 0) return;
    for (const id of this.requests.keys()) this.model.send({ type: 'stop', id });
    this.requests.clear();
    for (const d of disposables) d.dispose();
    this.deps.models.release(this.model);
    this.panel.dispose();
    this.onDisposed.fire();
    this.onDisposed.dispose();
  }
}
