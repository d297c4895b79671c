// An in-memory FileSystem for the config tests: files by absolute path, folders implied by them.
import type { FileSystem } from '../../../language-server/src/config/types';

export function memoryFileSystem(files: Record<string, string>): FileSystem {
  const isDirectory = (path: string): boolean => Object.keys(files).some((file) => file.startsWith(`${path.replace(/\/$/, '')}/`));
  return {
    exists: (path) => path in files || isDirectory(path),
    isDirectory,
    readFile: (path) => {
      if (!(path in files)) throw new Error(`ENOENT: ${path}`);
      return files[path];
    },
    listDir: (path) => {
      const prefix = `${path.replace(/\/$/, '')}/`;
      return [
        ...new Set(
          Object.keys(files)
            .filter((file) => file.startsWith(prefix))
            .map((file) => file.slice(prefix.length).split('/')[0]),
        ),
      ];
    },
  };
}
