// Creating a new run folder: atomically, never reusing one. `mkdir` of the final name without
// `recursive` fails if it exists (another trainer started the same config in the same second),
// and the next name with a suffix is tried: NAME, NAME-2, NAME-3, ...
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function createRunFolder(planned: string, maxTries = 100): { runDir: string; name: string } {
  const parent = dirname(planned);
  const base = basename(planned);
  mkdirSync(parent, { recursive: true });
  for (let i = 1; i <= maxTries; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    try {
      mkdirSync(join(parent, name));
      return { runDir: join(parent, name), name };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`${parent}: ${maxTries} run folders named ${base}[-N] exist already; choose another config name`);
}
