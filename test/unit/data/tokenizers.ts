// Shared by the data tests: the real Llama 2 and Llama 3 tokenizers shipped by @lenml, loaded once.
import { join } from 'node:path';
import { loadTokenizer, type TextTokenizer } from '../../../language-server/src/lib/data/tokenizer';

export const llama2Dir = join(process.cwd(), 'node_modules', '@lenml', 'tokenizer-llama2', 'models');
export const llama3Dir = join(process.cwd(), 'node_modules', '@lenml', 'tokenizer-llama3', 'models');

let llama2: TextTokenizer | undefined;
let llama3: TextTokenizer | undefined;

export function llama2Tokenizer(): TextTokenizer {
  return (llama2 ??= loadTokenizer(llama2Dir));
}

export function llama3Tokenizer(): TextTokenizer {
  return (llama3 ??= loadTokenizer(llama3Dir));
}
