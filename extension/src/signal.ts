// A tiny typed event source for the host's VS Code-free modules (run manager, runs store), so
// they stay unit-testable without the `vscode` module.

type Listener<T extends unknown[]> = (...args: T) => void;

export class Signal<T extends unknown[]> {
  private readonly listeners = new Set<Listener<T>>();

  on(listener: Listener<T>): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  fire(...args: T): void {
    for (const listener of [...this.listeners]) listener(...args);
  }
}
