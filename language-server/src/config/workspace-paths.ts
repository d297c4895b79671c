// Paths a config reads or writes outside its workspace ('../', absolute paths in model.checkpoint,
// data.path, eval.data_dir, out_dir): a warning in the editor and in `lora-lab check`, information
// for reads from the model cache folders (the Hugging Face cache, ~/.cache). Pure: the caller
// passes the folders (the language server from its workspace, the CLI from the working directory).
import { dirnameOf, resolvePath } from './paths';
import type { LoraLabConfig } from './types';
import type { RuleProblem } from './rules';

/** Where a config's paths are expected to be. */
export interface WorkspaceContext {
  /** Absolute workspace folders; a config outside all of them is judged against its own folder. */
  folders: readonly string[];
  /** Absolute model cache folders: reading from them is normal (information, not a warning). */
  cacheFolders: readonly string[];
}

/** The path keys checked; out_dir is written to, the others are read. */
export const WORKSPACE_PATH_KEYS = ['model.checkpoint', 'data.path', 'eval.data_dir', 'out_dir'] as const;
export type WorkspacePathKey = (typeof WORKSPACE_PATH_KEYS)[number];

function normalized(path: string): string {
  return resolvePath('/', path);
}

/** Whether `path` is `folder` or inside it (after resolving '.' and '..'). */
export function isInsideFolder(path: string, folder: string): boolean {
  const inner = normalized(path);
  const outer = normalized(folder).replace(/[\\/]+$/, '');
  if (outer === '') return true; // the root folder holds everything
  return inner === outer || inner.startsWith(`${outer}/`) || inner.startsWith(`${outer}\\`);
}

/** The folders a config's paths should stay in: every workspace folder when one holds it, else its own folder. */
export function foldersFor(configPath: string, context: WorkspaceContext): string[] {
  return context.folders.some((folder) => isInsideFolder(configPath, folder)) ? [...context.folders] : [dirnameOf(configPath)];
}

export interface OutsidePath {
  key: WorkspacePathKey;
  path: string;
  /** A read from a model cache folder. */
  inCache: boolean;
}

function valueOf(config: LoraLabConfig, key: WorkspacePathKey): string {
  if (key === 'out_dir') return config.out_dir;
  if (key === 'model.checkpoint') return config.model.checkpoint;
  if (key === 'data.path') return config.data.path;
  return config.eval.data_dir;
}

/** The path values of `configs` (a file's sweep variants) outside the workspace, once per key and path. */
export function pathsOutsideWorkspace(configs: readonly LoraLabConfig[], context: WorkspaceContext): OutsidePath[] {
  const found: OutsidePath[] = [];
  const seen = new Set<string>();
  for (const config of configs) {
    const folders = foldersFor(config.configPath, context);
    for (const key of WORKSPACE_PATH_KEYS) {
      const path = valueOf(config, key);
      if (seen.has(`${key}\n${path}`) || folders.some((folder) => isInsideFolder(path, folder))) continue;
      seen.add(`${key}\n${path}`);
      const inCache = key !== 'out_dir' && context.cacheFolders.some((folder) => isInsideFolder(path, folder));
      found.push({ key, path, inCache });
    }
  }
  return found;
}

/** One problem per outside path: information for cache reads, a warning otherwise. */
export function checkWorkspacePaths(configs: readonly LoraLabConfig[], context: WorkspaceContext): RuleProblem[] {
  return pathsOutsideWorkspace(configs, context).map(({ key, path, inCache }): RuleProblem => {
    const where = foldersFor(configs[0].configPath, context).join(', ');
    if (inCache) {
      return {
        severity: 'information',
        code: 'path-in-model-cache',
        key,
        message: `${key} ${path} is in a model cache folder, outside the workspace (${where}): it is read from there.`,
        data: { path },
      };
    }
    const message =
      key === 'out_dir'
        ? `out_dir ${path} is outside the workspace (${where}): runs will be written there. Use a folder inside the workspace (e.g. out/lora) unless you mean it; Start LoRA Run asks before writing there.`
        : `${key} ${path} is outside the workspace (${where}): it is read from there. Make sure you trust it, or put it inside the workspace.`;
    return { severity: 'warning', code: 'path-outside-workspace', key, message, data: { path } };
  });
}
