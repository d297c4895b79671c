// The language service's public surface: pure functions over an analysed document (no LSP
// connection, no VS Code API); server.ts wires them to LSP events.
export { analyzeConfig, CachedFileSystem, type ConfigAnalysis, type AnalysisOptions } from './analysis';
export { diagnostics, toDiagnostic, DIAGNOSTIC_SOURCE } from './diagnostics';
export { completions } from './completion';
export { hover } from './hover';
export { codeActions } from './actions';
export { DOWNLOAD_MODEL_COMMAND, MODELS_CHANGED_NOTIFICATION, type DownloadModelRequest } from './hub-commands';
export { codeLenses, estimateText, MAX_VARIANT_LENSES, SHOW_TRADEOFFS_COMMAND, type CalibrationLookup, type DataFactsLookup } from './lens';
export { cursorContext, type CursorContext } from './cursor';
export { checkpointParams, checkpointShape, type ShapeResult } from './checkpoint';
