// A minimal in-memory stand-in for the `vscode` module, enough to activate the extension host
// in node:test: it records registered commands, tree providers and shown messages.
export const registeredCommands = new Map<string, (...args: unknown[]) => unknown>();
export const registeredTreeProviders = new Map<string, unknown>();
export const shownMessages: { level: string; text: string }[] = [];
export const workspaceState = { isTrusted: true };

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
  private constructor(readonly scheme: string, readonly path: string) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class TreeItem {
  description?: string;
  tooltip?: unknown;
  contextValue?: string;
  iconPath?: unknown;
  command?: unknown;
  constructor(readonly label: string, readonly collapsibleState?: TreeItemCollapsibleState) {}
}

export class ThemeIcon {
  constructor(readonly id: string, readonly color?: unknown) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}

function logChannel(name: string) {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => lines.push(`[${level}] ${message}`);
  return { name, lines, trace: add('trace'), debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error'), appendLine: add('info'), show() {}, dispose() {} };
}

export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
    if (registeredCommands.has(id)) throw new Error(`command '${id}' already exists`);
    registeredCommands.set(id, fn);
    return new Disposable(() => registeredCommands.delete(id));
  },
  async executeCommand(id: string, ...args: unknown[]) {
    return registeredCommands.get(id)?.(...args);
  },
};

export const window = {
  createOutputChannel: (name: string) => logChannel(name),
  registerTreeDataProvider(id: string, provider: unknown) {
    registeredTreeProviders.set(id, provider);
    return new Disposable(() => registeredTreeProviders.delete(id));
  },
  showErrorMessage: async (text: string) => void shownMessages.push({ level: 'error', text }),
  showWarningMessage: async (text: string) => void shownMessages.push({ level: 'warning', text }),
  showInformationMessage: async (text: string) => void shownMessages.push({ level: 'info', text }),
  showQuickPick: async () => undefined,
  activeTextEditor: undefined as unknown,
};

export const workspace = {
  get isTrusted() {
    return workspaceState.isTrusted;
  },
  workspaceFolders: [] as { uri: Uri }[],
  getConfiguration: () => ({ get: <T>(_key: string, fallback: T) => fallback }),
  findFiles: async () => [] as Uri[],
  saveAll: async () => true,
  asRelativePath: (uri: Uri) => uri.fsPath,
};

export function resetFakeVscode(): void {
  registeredCommands.clear();
  registeredTreeProviders.clear();
  shownMessages.length = 0;
  workspaceState.isTrusted = true;
}
