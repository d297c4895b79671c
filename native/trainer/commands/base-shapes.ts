// Checks that a Hugging Face checkpoint's config.json agrees with its weights' shapes (read from
// the safetensors headers only): `merge` runs it before writing a model, so a base whose
// config.json contradicts its weights is refused naming the key and the tensor, not merged.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** Tensor name -> shape, from every *.safetensors header of `dir` (via the index when sharded). */
export function safetensorsShapes(dir: string): Map<string, number[]> {
  const index = join(dir, 'model.safetensors.index.json');
  const files = existsSync(index)
    ? [...new Set(Object.values((JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map))]
    : ['model.safetensors'];
  const shapes = new Map<string, number[]>();
  for (const file of files) {
    const path = join(dir, file);
    const fd = openSync(path, 'r');
    try {
      const size = Buffer.alloc(8);
      readSync(fd, size, 0, 8, 0);
      const length = Number(size.readBigUInt64LE(0));
      if (length > 100 * 2 ** 20) throw new Error(`${path}: safetensors header of ${length} bytes is not plausible`);
      const header = Buffer.alloc(length);
      readSync(fd, header, 0, length, 8);
      for (const [name, info] of Object.entries(JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>)) {
        if (name !== '__metadata__' && Array.isArray(info.shape)) shapes.set(name, info.shape);
      }
    } finally {
      closeSync(fd);
    }
  }
  return shapes;
}

/** The contradictions between config.json of `dir` and its weights (empty when they agree). */
export function baseShapeProblems(dir: string): string[] {
  const configPath = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, number | undefined>;
  const shapes = safetensorsShapes(dir);
  const problems: string[] = [];
  const hidden = c.hidden_size;
  const heads = c.num_attention_heads;
  const headDim = c.head_dim ?? (hidden && heads ? hidden / heads : undefined);
  const expect = (tensor: string, shape: (number | undefined)[], keys: string): void => {
    const actual = shapes.get(tensor);
    if (!actual || shape.some((d) => d === undefined)) return;
    if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
      problems.push(`${configPath}: ${keys} say ${tensor} is [${shape.join(', ')}], but the weights hold [${actual.join(', ')}]`);
    }
  };
  expect('model.embed_tokens.weight', [c.vocab_size, hidden], 'vocab_size and hidden_size');
  const layers = c.num_hidden_layers;
  if (layers !== undefined) {
    const present = new Set([...shapes.keys()].map((n) => /^model\.layers\.(\d+)\./.exec(n)?.[1]).filter((n) => n !== undefined));
    if (present.size && present.size !== layers)
      problems.push(`${configPath}: num_hidden_layers is ${layers}, but the weights have ${present.size} layers`);
    for (let l = 0; l < Math.min(layers, present.size); l++) {
      const p = `model.layers.${l}`;
      expect(
        `${p}.self_attn.q_proj.weight`,
        [heads !== undefined && headDim !== undefined ? heads * headDim : undefined, hidden],
        'num_attention_heads, head_dim and hidden_size',
      );
      expect(
        `${p}.self_attn.k_proj.weight`,
        [c.num_key_value_heads !== undefined && headDim !== undefined ? c.num_key_value_heads * headDim : undefined, hidden],
        'num_key_value_heads, head_dim and hidden_size',
      );
      expect(`${p}.mlp.gate_proj.weight`, [c.intermediate_size, hidden], 'intermediate_size and hidden_size');
    }
  }
  return problems;
}
