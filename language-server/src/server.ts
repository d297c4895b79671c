// The LoRA Lab language server: wires LSP events (open/change, completion, hover, code actions,
// code lens, watched files) to the pure language service; runs over IPC (the client) or --stdio.
import { fileURLToPath } from 'node:url';
import {
  CodeActionKind,
  ProposedFeatures,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  type Connection,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { FileSystem, WorkspaceContext } from './config';
import { hubCacheDir, modelCacheFolders, nodeFileSystem } from './config/node-fs';
import { newestCalibration } from './lib/calibration-file';
import { DataFactsCache } from './lib/data-facts';
import {
  CachedFileSystem,
  MODELS_CHANGED_NOTIFICATION,
  analyzeConfig,
  codeActions,
  codeLenses,
  completions,
  diagnostics,
  hover,
  type ConfigAnalysis,
} from './service';

/** The file path of a document URI; untitled documents get their URI path and no file checks. */
function documentPath(uri: string): { path: string; onDisk: boolean } {
  if (uri.startsWith('file:')) {
    try {
      return { path: fileURLToPath(uri), onDisk: true };
    } catch {
      // fall through: a malformed file URI is treated like an untitled document
    }
  }
  return { path: decodeURIComponent(uri.replace(/^[a-z-]+:\/*/i, '/')), onDisk: false };
}

/** Documents whose last analysis took longer than this (large sweeps) get their diagnostics debounced. */
export const SLOW_ANALYSIS_MS = 50;
export const DEBOUNCE_MS = 200;
/** An analysis that passes this budget reports "config too large to analyse" instead of blocking the editor. */
export const ANALYSIS_BUDGET_MS = 2000;

/** Serves the language features on `connection` until it closes. `fileSystem` is node:fs unless a test passes another. */
export function startServer(
  connection: Connection,
  fileSystem: FileSystem = nodeFileSystem,
  analysisBudgetMs = ANALYSIS_BUDGET_MS,
  hubCache: string = hubCacheDir(),
  slowAnalysisMs = SLOW_ANALYSIS_MS,
): void {
  const documents = new TextDocuments(TextDocument);
  const fs = new CachedFileSystem(fileSystem);
  const analyses = new Map<string, { version: number; analysis: ConfigAnalysis }>();
  const analysisCost = new Map<string, number>();
  const pendingPublish = new Map<string, ReturnType<typeof setTimeout>>();
  let codeLensRefresh = false;
  // The data's longest tokenized example for the estimate lens: read after the lens request is answered,
  // then the client is asked for the lenses again (which now find the facts cached).
  const dataFacts = new DataFactsCache();
  const refreshLenses = (): void => {
    if (codeLensRefresh) void connection.sendRequest('workspace/codeLens/refresh');
  };
  /** Paths outside these folders are reported (set from the initialize request). */
  let workspace: WorkspaceContext = { folders: [], cacheFolders: modelCacheFolders() };

  const analysisOf = (document: TextDocument): ConfigAnalysis => {
    const cached = analyses.get(document.uri);
    if (cached && cached.version === document.version) return cached.analysis;
    const { path, onDisk } = documentPath(document.uri);
    const started = performance.now();
    const analysis = analyzeConfig(document.getText(), path, onDisk ? fs : undefined, {
      budgetMs: analysisBudgetMs,
      workspace: onDisk ? workspace : undefined,
      hubCache,
    });
    analysisCost.set(document.uri, performance.now() - started);
    analyses.set(document.uri, { version: document.version, analysis });
    return analysis;
  };
  const withDocument = <T>(uri: string, empty: T, feature: (analysis: ConfigAnalysis) => T): T => {
    const document = documents.get(uri);
    if (!document) return empty;
    try {
      return feature(analysisOf(document));
    } catch (error) {
      connection.console.error(`lora-lab language server: ${(error as Error).stack ?? String(error)}`);
      return empty;
    }
  };
  const publish = (document: TextDocument): void => {
    const found = withDocument(document.uri, null, diagnostics);
    if (found) void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: found });
  };
  /** Publishes at once, or after a pause in typing when this document is slow to analyse. */
  const schedulePublish = (uri: string): void => {
    clearTimeout(pendingPublish.get(uri));
    pendingPublish.delete(uri);
    const current = documents.get(uri);
    if (!current) return;
    if ((analysisCost.get(uri) ?? 0) < slowAnalysisMs) return publish(current);
    pendingPublish.set(
      uri,
      setTimeout(() => {
        pendingPublish.delete(uri);
        const latest = documents.get(uri);
        if (latest) publish(latest);
      }, DEBOUNCE_MS),
    );
  };

  connection.onInitialize((params) => {
    codeLensRefresh = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    const roots = params.workspaceFolders?.map((folder) => folder.uri) ?? (params.rootUri ? [params.rootUri] : []);
    workspace = { ...workspace, folders: roots.filter((uri) => uri.startsWith('file:')).map((uri) => documentPath(uri).path) };
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: [':', ' ', '.', '[', ',', '-'] },
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        codeLensProvider: { resolveProvider: false },
      },
      serverInfo: { name: 'lora-lab-language-server' },
    };
  });
  documents.onDidChangeContent((event) => schedulePublish(event.document.uri));
  documents.onDidClose((event) => {
    clearTimeout(pendingPublish.get(event.document.uri));
    pendingPublish.delete(event.document.uri);
    analyses.delete(event.document.uri);
    analysisCost.delete(event.document.uri);
    void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] });
  });
  connection.onCompletion((params) => withDocument(params.textDocument.uri, [], (analysis) => completions(analysis, params.position)));
  connection.onHover((params) => withDocument(params.textDocument.uri, null, (analysis) => hover(analysis, params.position)));
  connection.onCodeAction((params) =>
    withDocument(params.textDocument.uri, [], (analysis) => codeActions(analysis, params.textDocument.uri, params.range)),
  );
  connection.onCodeLens((params) =>
    withDocument(params.textDocument.uri, [], (analysis) =>
      codeLenses(
        analysis,
        (device) => newestCalibration(device),
        (config) => dataFacts.peek(config, refreshLenses),
      ),
    ),
  );
  const recheckAll = (): void => {
    fs.invalidate();
    analyses.clear();
    for (const document of documents.all()) schedulePublish(document.uri);
    refreshLenses();
  };
  // A checkpoint, dataset or eval file appeared, changed or went away: re-check every open config.
  connection.onDidChangeWatchedFiles(recheckAll);
  // The host downloaded into the Hugging Face cache (outside the workspace, so no file event comes).
  connection.onNotification(MODELS_CHANGED_NOTIFICATION, recheckAll);

  documents.listen(connection);
  connection.listen();
}

if (require.main === module) startServer(createConnection(ProposedFeatures.all));
