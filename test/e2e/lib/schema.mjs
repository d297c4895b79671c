// Reads a key's documentation and enum choices from the config schema's source
// (language-server/src/config/schema.ts), so the e2e expectations cannot drift from it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './workbench.mjs';

const SCHEMA = join(REPO_ROOT, 'language-server', 'src', 'config', 'schema.ts');

function specSource(key) {
  const text = readFileSync(SCHEMA, 'utf8');
  const start = text.indexOf(`key: '${key}'`);
  if (start < 0) throw new Error(`${SCHEMA} has no spec for ${key}`);
  const next = text.indexOf("s({ key: '", start + 1);
  return text.slice(start, next < 0 ? undefined : next);
}

/** The first sentence of the key's `doc`. */
export function keyDocSummary(key) {
  const match = /\bdoc:\s*(['"`])((?:\\.|(?!\1).)*)\1/s.exec(specSource(key));
  if (!match) throw new Error(`cannot read the doc of ${key} from ${SCHEMA}`);
  return match[2].replace(/\\(.)/g, '$1').split(/(?<=\.)\s/)[0];
}

/** The key's enum choices. */
export function keyChoices(key) {
  const match = /\bchoices:\s*\[([^\]]*)\]/.exec(specSource(key));
  if (!match) throw new Error(`cannot read the choices of ${key} from ${SCHEMA}`);
  return [...match[1].matchAll(/'([^']*)'/g)].map((choice) => choice[1]);
}
