// Completion of path values (model.checkpoint, data.path, eval.data_dir, out_dir) from the folder
// typed so far, relative to the config file: checkpoint folders first, dataset files by format.
import { CompletionItemKind, type CompletionItem } from 'vscode-languageserver-types';
import { dirnameOf, joinPath, resolvePath, type Range } from '../config';
import type { ConfigAnalysis } from './analysis';

/** At most this many entries of one folder are offered. */
export const MAX_PATH_ITEMS = 200;

const DATA_FILE = /\.(json|jsonl|csv)$/i;

/** Entries of the folder named by `partial` (up to its last '/') that fit `key`. */
export function pathCompletions(analysis: ConfigAnalysis, key: string, partial: string, range: Range): CompletionItem[] {
  const fs = analysis.fs;
  if (!fs || /["'\n]/.test(partial)) return [];
  const cut = partial.lastIndexOf('/') + 1;
  const folderText = partial.slice(0, cut);
  const folder = resolvePath(dirnameOf(analysis.filePath), folderText || '.');
  let names: string[];
  try {
    names = fs.listDir(folder);
  } catch {
    return [];
  }
  const segment: Range = { start: { line: range.start.line, character: range.start.character + cut }, end: range.end };
  const items: CompletionItem[] = [];
  for (const name of names
    .filter((entry) => !entry.startsWith('.'))
    .sort()
    .slice(0, MAX_PATH_ITEMS)) {
    const path = joinPath(folder, name);
    let isFolder = false;
    try {
      isFolder = fs.isDirectory(path);
    } catch {
      continue;
    }
    if (!isFolder && key !== 'data.path') continue;
    if (!isFolder && !DATA_FILE.test(name)) continue;
    let detail = isFolder ? 'folder' : 'dataset file';
    let sortText = `2${name}`;
    if (isFolder && key === 'model.checkpoint') {
      let isCheckpoint = false;
      try {
        isCheckpoint = fs.exists(joinPath(path, 'config.json'));
      } catch {
        isCheckpoint = false;
      }
      if (isCheckpoint) {
        detail = 'Hugging Face checkpoint (has config.json)';
        sortText = `1${name}`;
      }
    }
    items.push({
      label: isFolder ? `${name}/` : name,
      kind: isFolder ? CompletionItemKind.Folder : CompletionItemKind.File,
      detail,
      sortText,
      textEdit: { range: segment, newText: isFolder && !detail.startsWith('Hugging Face') ? `${name}/` : name },
      ...(isFolder && !detail.startsWith('Hugging Face') ? { command: { title: 'Suggest', command: 'editor.action.triggerSuggest' } } : {}),
    });
  }
  return items;
}
