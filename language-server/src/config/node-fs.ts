// The Node implementation of the config modules' FileSystem, and loadConfigFile for the trainer
// and the CLI (the only config module that touches node:fs), and where the Hugging Face cache is.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatProblem, parseConfig, type ParsedConfig } from './parse';
import { ConfigError, type FileSystem } from './types';

export const nodeFileSystem: FileSystem = {
  exists: (path) => {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  },
  isDirectory: (path) => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  readFile: (path) => readFileSync(path, 'utf8'),
  listDir: (path) => readdirSync(path),
};

/** The model cache folders of this machine: the Hugging Face cache (HF_HOME, HF_HUB_CACHE, ...), XDG_CACHE_HOME and ~/.cache. */
export function modelCacheFolders(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  const named = [env.HF_HUB_CACHE, env.HUGGINGFACE_HUB_CACHE, env.TRANSFORMERS_CACHE, env.HF_HOME, env.XDG_CACHE_HOME];
  return [...new Set([...named.filter((folder): folder is string => !!folder).map((folder) => resolve(folder)), join(home, '.cache')])];
}

/**
 * The Hugging Face Hub cache, as huggingface_hub finds it: $HF_HUB_CACHE (or the older
 * $HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  if (env.HF_HUB_CACHE) return resolve(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) return resolve(env.HUGGINGFACE_HUB_CACHE);
  if (env.HF_HOME) return join(resolve(env.HF_HOME), 'hub');
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(home, '.cache'), 'huggingface', 'hub');
}

/**
 * Reads and checks a config file with the file checks on. Throws ConfigError (message: one
 * 'file:line:col: error: ...' line per error) when there is any error; else returns the parse,
 * whose problems hold the warnings and hints.
 */
export function loadConfigFile(path: string, fs: FileSystem = nodeFileSystem): ParsedConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    text = fs.readFile(absolute);
  } catch (error) {
    throw new ConfigError(`${absolute}: cannot read the config file (${(error as Error).message}).`);
  }
  const parsed = parseConfig(text, absolute, fs, { hubCache: hubCacheDir() });
  const errors = parsed.problems.filter((problem) => problem.severity === 'error');
  if (errors.length) throw new ConfigError(errors.map((problem) => formatProblem(absolute, problem)).join('\n'), errors);
  return parsed;
}
