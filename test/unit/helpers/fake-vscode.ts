// A minimal in-memory stand-in for the `vscode` module, enough to activate the extension host
// in node:test: it records registered commands, providers, context keys and shown messages.
export const registeredCommands = new Map<string, (...args: unknown[]) => unknown>();
export const registeredTreeProviders = new Map<string, unknown>();
export const registeredSerializers = new Map<string, unknown>();
/** createTreeView options by view id (canSelectMany...). */
export const treeViewOptions = new Map<string, { canSelectMany?: boolean }>();
/** Tree views by id: a test sets `selection` as a click would. */
export const treeViews = new Map<string, { selection: unknown[] }>();
export const executedCommands: { id: string; args: unknown[] }[] = [];
export const contextKeys = new Map<string, unknown>();
export const shownMessages: { level: string; text: string }[] = [];
export const workspaceState = { isTrusted: true };
export const configuration = new Map<string, unknown>();
export const diagnostics = new Map<string, Diagnostic[]>();
/** Answer the next showWarningMessage / showQuickPick calls return (a confirm button, a pick). */
export const answers = {
  warning: undefined as string | undefined,
  quickPick: undefined as unknown,
  inputBox: undefined as string | undefined,
  /** Cancel every withProgress task this many ms after it starts (undefined: never). */
  cancelProgressAfterMs: undefined as number | undefined,
};
/** What showQuickPick / showInputBox / withProgress were called with, in call order. */
export const shownQuickPicks: { items: unknown; options: unknown }[] = [];
export const shownInputBoxes: unknown[] = [];
export const shownProgress: { options: unknown; reports: unknown[] }[] = [];

export class Disposable {
  constructor(private readonly onDispose: () => void = () => {}) {}
  dispose(): void {
    this.onDispose();
  }
}

export class EventEmitter<T> {
  private listeners: ((value: T) => void)[] = [];
  event = (listener: (value: T) => void) => {
    this.listeners.push(listener);
    return new Disposable(() => (this.listeners = this.listeners.filter((l) => l !== listener)));
  };
  fire(value: T): void {
    for (const l of this.listeners) l(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static from(parts: { scheme: string; path: string }): Uri {
    return new Uri(parts.scheme, parts.path);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path, ...parts].join('/'));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export class RelativePattern {
  constructor(
    readonly base: Uri | string,
    readonly pattern: string,
  ) {}
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

/** Documents the host opened with showTextDocument, with the options it passed. */
export const shownDocuments: { path: string; options: unknown }[] = [];
/** Fire to play "the user saved this document" (workspace.onDidSaveTextDocument). */
export const savedDocuments = new EventEmitter<{ uri: Uri; getText(): string }>();
/** Fire to play an edit of an open document (the comparison panel follows its config). */
export const changedDocuments = new EventEmitter<{ document: { uri: Uri; getText(): string } }>();

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}
export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
  Information = 2,
  Hint = 3,
}
export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export interface Diagnostic {
  severity: DiagnosticSeverity;
  message: string;
  range: { start: { line: number; character: number } };
}

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: unknown;
  contextValue?: string;
  iconPath?: unknown;
  command?: unknown;
  resourceUri?: Uri;
  constructor(
    readonly label: string,
    readonly collapsibleState?: TreeItemCollapsibleState,
  ) {}
}

export class MarkdownString {
  value = '';
  appendText(text: string): this {
    this.value += text.replace(/[\\`*_{}[\]()#+\-.!<>]/g, '\\$&');
    return this;
  }
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: unknown,
  ) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}

function logChannel(name: string) {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => lines.push(`[${level}] ${message}`);
  return {
    name,
    lines,
    trace: add('trace'),
    debug: add('debug'),
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    appendLine: add('info'),
    show() {},
    dispose() {},
  };
}

/** The output channels the host created, and every line logged to them (`[level] message`). */
export const logChannels: ReturnType<typeof logChannel>[] = [];
export function loggedLines(): string[] {
  return logChannels.flatMap((channel) => channel.lines);
}

export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
    if (registeredCommands.has(id)) throw new Error(`command '${id}' already exists`);
    registeredCommands.set(id, fn);
    return new Disposable(() => registeredCommands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]) {
    if (id === 'setContext') {
      contextKeys.set(String(args[0]), args[1]);
      return undefined;
    }
    executedCommands.push({ id, args });
    return registeredCommands.get(id)?.(...args);
  },
  async getCommands(_filterInternal?: boolean) {
    return [...registeredCommands.keys()];
  },
};

/** A webview: records what the host posts; `receive` plays a message from the page. */
export class FakeWebview {
  options: unknown = {};
  html = '';
  readonly cspSource = 'vscode-webview-resource:';
  readonly posted: unknown[] = [];
  private readonly messages = new EventEmitter<unknown>();
  readonly onDidReceiveMessage = this.messages.event;
  asWebviewUri(uri: Uri): Uri {
    return Uri.from({ scheme: 'vscode-webview-resource', path: uri.path });
  }
  async postMessage(message: unknown): Promise<boolean> {
    this.posted.push(message);
    return true;
  }
  receive(message: unknown): void {
    this.messages.fire(message);
  }
}

export class FakeWebviewPanel {
  readonly webview = new FakeWebview();
  visible = true;
  iconPath: unknown;
  disposed = false;
  revealed = 0;
  private readonly disposeEmitter = new EventEmitter<void>();
  private readonly viewState = new EventEmitter<unknown>();
  readonly onDidDispose = this.disposeEmitter.event;
  readonly onDidChangeViewState = this.viewState.event;
  constructor(
    readonly viewType: string,
    public title: string,
  ) {}
  reveal(): void {
    this.revealed++;
  }
  setVisible(visible: boolean): void {
    this.visible = visible;
    this.viewState.fire({ webviewPanel: this });
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEmitter.fire();
  }
}
export const createdPanels: FakeWebviewPanel[] = [];

function statusBarItem() {
  return {
    text: '',
    tooltip: '',
    command: undefined as unknown,
    name: '',
    visible: false,
    show() {
      this.visible = true;
    },
    hide() {
      this.visible = false;
    },
    dispose() {},
  };
}

export const window = {
  createOutputChannel: (name: string) => {
    const channel = logChannel(name);
    logChannels.push(channel);
    return channel;
  },
  createStatusBarItem: () => statusBarItem(),
  registerTreeDataProvider(id: string, provider: unknown) {
    registeredTreeProviders.set(id, provider);
    return new Disposable(() => registeredTreeProviders.delete(id));
  },
  createTreeView(id: string, options: { treeDataProvider: unknown; canSelectMany?: boolean }) {
    registeredTreeProviders.set(id, options.treeDataProvider);
    treeViewOptions.set(id, options);
    const view = Object.assign(new Disposable(() => registeredTreeProviders.delete(id)), {
      selection: [] as unknown[],
      visible: true,
      onDidChangeVisibility: new EventEmitter<{ visible: boolean }>().event,
    });
    treeViews.set(id, view);
    return view;
  },
  createWebviewPanel(viewType: string, title: string, _column: unknown, options: unknown) {
    const panel = new FakeWebviewPanel(viewType, title);
    panel.webview.options = options;
    createdPanels.push(panel);
    return panel;
  },
  registerWebviewPanelSerializer(viewType: string, serializer: unknown) {
    registeredSerializers.set(viewType, serializer);
    return new Disposable(() => registeredSerializers.delete(viewType));
  },
  showErrorMessage: async (text: string) => void shownMessages.push({ level: 'error', text }),
  showWarningMessage: async (text: string) => {
    shownMessages.push({ level: 'warning', text });
    return answers.warning;
  },
  showInformationMessage: async (text: string) => void shownMessages.push({ level: 'info', text }),
  showQuickPick: async (items: unknown, options?: unknown) => {
    shownQuickPicks.push({ items: await items, options });
    return answers.quickPick;
  },
  showInputBox: async (options?: unknown) => {
    shownInputBoxes.push(options);
    return answers.inputBox;
  },
  showWorkspaceFolderPick: async () => workspace.workspaceFolders[0],
  showTextDocument: async (target: unknown, options?: unknown) => {
    if (target instanceof Uri) shownDocuments.push({ path: target.fsPath, options });
    return undefined;
  },
  withProgress: async <T>(
    _options: unknown,
    task: (progress: { report(value: unknown): void }, token: { onCancellationRequested(l: () => void): Disposable }) => Promise<T>,
  ) => {
    const shown = { options: _options, reports: [] as unknown[] };
    shownProgress.push(shown);
    const cancelled = new EventEmitter<void>();
    const after = answers.cancelProgressAfterMs;
    const timer = after === undefined ? undefined : setTimeout(() => cancelled.fire(), after);
    try {
      return await task({ report: (value) => shown.reports.push(value) }, { onCancellationRequested: cancelled.event });
    } finally {
      if (timer) clearTimeout(timer);
    }
  },
  activeTextEditor: undefined as unknown,
};

function fileSystemWatcher() {
  const none = () => new Disposable();
  return { onDidCreate: none, onDidChange: none, onDidDelete: none, dispose() {} };
}

export const workspace = {
  get isTrusted() {
    return workspaceState.isTrusted;
  },
  workspaceFolders: [] as { uri: Uri }[],
  getConfiguration: (section: string) => ({
    get: <T>(key: string, fallback: T): T =>
      configuration.has(`${section}.${key}`) ? (configuration.get(`${section}.${key}`) as T) : fallback,
  }),
  onDidChangeConfiguration: () => new Disposable(),
  createFileSystemWatcher: () => fileSystemWatcher(),
  onDidSaveTextDocument: savedDocuments.event,
  onDidChangeTextDocument: changedDocuments.event,
  textDocuments: [] as { uri: Uri; isDirty: boolean; save(): Promise<boolean> }[],
  findFiles: async () => [] as Uri[],
  saveAll: async () => true,
  asRelativePath: (uri: Uri) => uri.fsPath,
  fs: {
    readFile: async (uri: Uri) => new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(uri.fsPath))),
    delete: async (uri: Uri, options?: { recursive?: boolean }) =>
      (await import('node:fs')).rmSync(uri.fsPath, { recursive: options?.recursive ?? false }),
  },
};

export const languages = { getDiagnostics: (uri: Uri) => diagnostics.get(uri.fsPath) ?? [] };

export const env = {
  remoteName: undefined as string | undefined,
  clipboard: {
    text: '',
    async writeText(text: string) {
      env.clipboard.text = text;
    },
  },
};

export function resetFakeVscode(): void {
  registeredCommands.clear();
  registeredTreeProviders.clear();
  treeViewOptions.clear();
  treeViews.clear();
  registeredSerializers.clear();
  executedCommands.length = 0;
  createdPanels.length = 0;
  contextKeys.clear();
  configuration.clear();
  diagnostics.clear();
  shownMessages.length = 0;
  shownDocuments.length = 0;
  workspaceState.isTrusted = true;
  workspace.workspaceFolders = [];
  answers.warning = undefined;
  answers.quickPick = undefined;
  answers.inputBox = undefined;
  answers.cancelProgressAfterMs = undefined;
  shownQuickPicks.length = 0;
  shownInputBoxes.length = 0;
  logChannels.length = 0;
  shownProgress.length = 0;
}
