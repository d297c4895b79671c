// The config language's public surface: schema, parse with positions, rules, sweeps, overrides,
// run names. Pure (no VS Code API, no node:fs); loadConfigFile lives in ./node-fs.
export * from './types';
export * from './schema';
export { checkValue, valueFromText, expected, cutForMessage, quoteForMessage, MAX_ECHOED_CHARS, type ValueCheck } from './values';
export { closestMatch, editDistance, suggestionWork } from './suggest';
export { DeadlineExceeded, deadlineIn, checkDeadline, type Deadline } from './deadline';
export { resolveConfig, withValue, valueAt, defaultRunName, cloneConfig } from './resolve';
export { parseConfig, formatProblem, keyAt, type ParsedConfig, type KeyLocation, type ParseOptions } from './parse';
export {
  checkWorkspacePaths,
  pathsOutsideWorkspace,
  isInsideFolder,
  foldersFor,
  WORKSPACE_PATH_KEYS,
  type WorkspaceContext,
  type OutsidePath,
} from './workspace-paths';
export {
  parseHubRef,
  repoFolderName,
  repoOfFolderName,
  isCommitHash,
  locateHubCheckpoint,
  hubCheckpointOfPath,
  resolveHubCheckpoint,
  hubRefText,
  type HubRef,
  type HubCheckpoint,
} from './hub-ref';
export {
  checkCrossKeys,
  checkFiles,
  trainingFilesMissing,
  modelDimensions,
  smallestAdaptedDimension,
  type RuleProblem,
  type ModelDimensions,
} from './rules';
export { parseExpression, evaluateExpression, referencedKeys, ExpressionError, type Expression } from './expression';
export {
  expandSweep,
  checkSweep,
  selectVariant,
  isSweep,
  variantCount,
  MAX_SWEEP_VARIANTS,
  type SweepVariant,
  type SweepIssue,
} from './sweep';
export { applyOverrides, validateConfig, resolveRunConfig, runName, configHash, type RunConfig } from './overrides';
export { sha256Hex, canonicalJson } from './hash';
export { resolvePath, dirnameOf, basenameOf, joinPath } from './paths';
export * from './units';
export { defaultConfigText } from './template';
