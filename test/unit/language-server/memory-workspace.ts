// An in-memory workspace for the language-service tests: a small Llama checkpoint at /ws/ckpt, an
// Alpaca file and the eval data under /ws/data; reads are recorded so caching can be checked.
import type { FileSystem } from '../../../language-server/src/config';

export const SMALL_MODEL = JSON.stringify({
  model_type: 'llama',
  hidden_size: 64,
  intermediate_size: 172,
  num_attention_heads: 4,
  num_hidden_layers: 2,
  vocab_size: 100,
});

/** An in-memory checkpoint, dataset and eval folder under /ws. */
export function workspace(extra: Record<string, string> = {}): FileSystem & { reads: string[] } {
  const files: Record<string, string> = {
    '/ws/ckpt/config.json': SMALL_MODEL,
    '/ws/ckpt/tokenizer.json': '{}',
    '/ws/ckpt/model.safetensors': '',
    '/ws/data/alpaca.json': '[]',
    '/ws/data/eval/truthfulqa_mc.jsonl': '',
    '/ws/data/eval/blimp_causative.jsonl': '',
    '/ws/data/eval/mmlu_global_facts.jsonl': '',
    ...extra,
  };
  const reads: string[] = [];
  const isDirectory = (path: string) => Object.keys(files).some((file) => file.startsWith(`${path}/`));
  return {
    reads,
    exists: (path) => path in files || isDirectory(path),
    isDirectory,
    readFile: (path) => {
      reads.push(path);
      if (!(path in files)) throw new Error(`ENOENT ${path}`);
      return files[path];
    },
    listDir: (path) => [
      ...new Set(
        Object.keys(files)
          .filter((file) => file.startsWith(`${path}/`))
          .map((file) => file.slice(path.length + 1).split('/')[0]),
      ),
    ],
  };
}
