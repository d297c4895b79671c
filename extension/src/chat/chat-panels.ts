// Every open chat panel (one conversation each) and the serializer that restores them after a
// reload from the webview's saved state (target, settings, conversation).
import * as vscode from 'vscode';
import { parseChatState, type ChatTarget } from '../../../webview/src/chat/protocol';
import { ChatPanel, type ChatDeps } from './chat-panel';

export class ChatPanels implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Set<ChatPanel>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly deps: ChatDeps) {
    this.registration = vscode.window.registerWebviewPanelSerializer(ChatPanel.viewType, this);
  }

  /** Opens a new chat panel (each panel keeps its own conversation). */
  open(target: ChatTarget): ChatPanel {
    return this.track(ChatPanel.create(this.deps, target));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const saved = parseChatState(state);
    if (!saved) {
      panel.dispose();
      return;
    }
    this.track(ChatPanel.revive(panel, this.deps, saved.target));
  }

  all(): ChatPanel[] {
    return [...this.panels];
  }

  private track(panel: ChatPanel): ChatPanel {
    this.panels.add(panel);
    panel.onDidDispose(() => this.panels.delete(panel));
    return panel;
  }

  dispose(): void {
    this.registration.dispose();
    for (const panel of [...this.panels]) panel.dispose();
    this.deps.models.dispose();
  }
}
