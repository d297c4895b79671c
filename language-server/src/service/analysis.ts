// One analysed *.lora.yaml document: the config modules' parse (problems, locations, variants) plus
// the text's lines, computed once per document version and shared by every language feature.
import {
  DeadlineExceeded,
  deadlineIn,
  parseConfig,
  resolveConfig,
  type FileSystem,
  type ParsedConfig,
  type Problem,
  type WorkspaceContext,
} from '../config';

export interface ConfigAnalysis {
  text: string;
  filePath: string;
  lines: string[];
  parsed: ParsedConfig;
  /** The file system the file checks ran against (undefined: they did not run). */
  fs?: FileSystem;
}

function describe(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 200);
}

function internalProblem(error: unknown): Problem {
  return {
    severity: 'error',
    code: 'yaml-syntax',
    key: '',
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    message: `LoRA Lab could not analyse this file (${describe(error)}); the other features use the defaults.`,
  };
}

export interface AnalysisOptions {
  /** Stop after this long and report 'config-too-large' (the language server sets it; the CLI does not). */
  budgetMs?: number;
  /** The clock for the budget, in ms (performance.now unless a test counts). */
  now?: () => number;
  /** Workspace and model cache folders: paths outside them are reported. */
  workspace?: WorkspaceContext;
  /** The Hugging Face Hub cache: repo ids in model.checkpoint resolve there (never over the network). */
  hubCache?: string;
}

function tooLargeProblem(budgetMs: number): Problem {
  return {
    severity: 'error',
    code: 'config-too-large',
    key: '',
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
    message: `Config too large to analyse: checking it took longer than ${budgetMs} ms, so the editor shows no other problems and uses the defaults. Make it smaller (fewer sweep values, no very long values), or run 'lora-lab check' on it in a terminal.`,
    data: { budgetMs },
  };
}

/**
 * Parses `text` (the file at `filePath`); with `fs` the checkpoint, data and eval files are checked
 * too. Never throws: should the parse itself fail or pass its budget, the result holds the
 * defaults and one problem.
 */
export function analyzeConfig(text: string, filePath: string, fs?: FileSystem, options: AnalysisOptions = {}): ConfigAnalysis {
  const lines = text.split(/\r\n|\r|\n/);
  const deadline = options.budgetMs === undefined ? undefined : deadlineIn(options.budgetMs, options.now);
  const attempt = (withFs: FileSystem | undefined): ParsedConfig => {
    return parseConfig(text, filePath, withFs, { deadline, workspace: options.workspace, hubCache: options.hubCache });
  };
  const defaults = (problem: Problem): ConfigAnalysis => {
    const config = resolveConfig(new Map(), filePath);
    const parsed: ParsedConfig = {
      config,
      problems: [problem],
      setValues: new Map(),
      locations: new Map(),
      variants: [{ index: 0, overrides: {}, config }],
    };
    return { text, filePath, lines, parsed, fs };
  };
  try {
    return { text, filePath, lines, parsed: attempt(fs), fs };
  } catch (error) {
    if (error instanceof DeadlineExceeded) return defaults(tooLargeProblem(error.budgetMs));
    if (fs) {
      // The file checks failed (a permission error, a file that vanished): serve the text's own problems.
      try {
        const parsed = attempt(undefined);
        parsed.problems.push({
          ...internalProblem(error),
          message: `The checkpoint, data and eval files could not be checked (${describe(error)}).`,
        });
        return { text, filePath, lines, parsed };
      } catch (retryError) {
        if (retryError instanceof DeadlineExceeded) return defaults(tooLargeProblem(retryError.budgetMs));
        // else fall through to the defaults
      }
    }
    return defaults(internalProblem(error));
  }
}

/**
 * A FileSystem that remembers file contents (the checkpoint's config.json) until `invalidate`, and
 * read errors while the file is missing; existence and folder listings stay live, so a download
 * shows up at the next edit.
 */
export class CachedFileSystem implements FileSystem {
  private readonly contents = new Map<string, { text: string } | { error: Error }>();

  constructor(private readonly inner: FileSystem) {}

  exists(path: string): boolean {
    return this.inner.exists(path);
  }

  isDirectory(path: string): boolean {
    return this.inner.isDirectory(path);
  }

  listDir(path: string): string[] {
    return this.inner.listDir(path);
  }

  readFile(path: string): string {
    let entry = this.contents.get(path);
    // A remembered read error is kept while the file is still missing; once it exists (a download
    // from a terminal into the Hugging Face cache, outside the watched workspace) it is read again.
    if (entry && 'error' in entry && this.inner.exists(path)) entry = undefined;
    if (!entry) {
      try {
        entry = { text: this.inner.readFile(path) };
      } catch (error) {
        entry = { error: error instanceof Error ? error : new Error(String(error)) };
      }
      this.contents.set(path, entry);
    }
    if ('error' in entry) throw entry.error;
    return entry.text;
  }

  /** Forgets one file, or every file without an argument. */
  invalidate(path?: string): void {
    if (path === undefined) this.contents.clear();
    else this.contents.delete(path);
  }
}
