// Path helpers for the pure config modules (no node:path, so they also run in a webview):
// POSIX and Windows-style absolute paths, '.' and '..' segments.

function isAbsolute(path: string): boolean {
  return path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(path);
}

function separatorOf(path: string): string {
  return /^[A-Za-z]:\\/.test(path) || (path.includes('\\') && !path.includes('/')) ? '\\' : '/';
}

function normalize(path: string, separator: string): string {
  const drive = /^[A-Za-z]:/.exec(path)?.[0] ?? '';
  const rest = path.slice(drive.length);
  const absolute = rest.startsWith('/') || rest.startsWith('\\');
  const parts: string[] = [];
  for (const part of rest.split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length && parts[parts.length - 1] !== '..') parts.pop();
      else if (!absolute) parts.push('..');
      continue;
    }
    parts.push(part);
  }
  return drive + (absolute ? separator : '') + parts.join(separator) || '.';
}

/** The folder of a file path ('/a/b/c.yaml' -> '/a/b'). */
export function dirnameOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (cut < 0) return '.';
  if (cut === 0) return path[0];
  if (/^[A-Za-z]:[\\/]$/.test(path.slice(0, cut + 1))) return path.slice(0, cut + 1);
  return path.slice(0, cut);
}

/** The last segment ('/a/b/c.yaml' -> 'c.yaml'). */
export function basenameOf(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/** `path` unchanged when absolute, else resolved against `baseDir`; normalized either way. */
export function resolvePath(baseDir: string, path: string): string {
  const separator = separatorOf(isAbsolute(path) ? path : baseDir);
  return normalize(isAbsolute(path) ? path : `${baseDir}${separator}${path}`, separator);
}

export function joinPath(dir: string, name: string): string {
  return resolvePath(dir, name);
}
