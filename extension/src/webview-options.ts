// What every LoRA Lab webview panel (dashboard, dataset, chat) is created with: scripts on, and only the
// bundles in dist/webview and media/ loadable; and the column a new panel opens in.
import * as vscode from 'vscode';

export function panelWebviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** Beside the active editor (a panel opened from a config or a run), else in the active column. */
export function besideActiveEditor(): vscode.ViewColumn {
  return vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
}
