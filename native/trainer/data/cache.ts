// The tokenized-data cache: one binary file per key (a hash of the data file's bytes, the tokenizer,
// the prompt template, mask_prompt and max_seq_length), written atomically (temp + rename).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenizedExample } from '../../../language-server/src/lib/data/example';

const MAGIC = 'LLDATA01';
const FORMAT_VERSION = 1;

export interface CacheKeyParts {
  dataBytes: Uint8Array;
  format: string;
  tokenizerFingerprint: string;
  promptFingerprint: string;
  maskPrompt: boolean;
  maxSeqLength: number;
}

/** Hex sha256 over everything that changes the tokenized examples. */
export function dataCacheKey(parts: CacheKeyParts): string {
  const hash = createHash('sha256');
  hash.update(`lora-lab tokenized data v${FORMAT_VERSION}\0`);
  hash.update(createHash('sha256').update(parts.dataBytes).digest('hex'));
  hash.update(`\0${parts.format}\0${parts.tokenizerFingerprint}\0${parts.promptFingerprint}\0${parts.maskPrompt}\0${parts.maxSeqLength}`);
  return hash.digest('hex');
}

export function cacheFilePath(cacheDir: string, key: string): string {
  return join(cacheDir, `${key.slice(0, 32)}.tokens`);
}

/** Writes the examples under `cacheDir` (created if needed) via a temp file and a rename. */
export function writeTokenizedCache(cacheDir: string, key: string, examples: readonly TokenizedExample[]): string {
  const header = Buffer.from(JSON.stringify({ version: FORMAT_VERSION, key, count: examples.length }), 'utf8');
  const headerBytes = Math.ceil((8 + 4 + header.length) / 4) * 4;
  const count = examples.length;
  const totalTokens = examples.reduce((sum, example) => sum + example.inputIds.length, 0);
  const buffer = Buffer.alloc(headerBytes + 4 * (5 * count + totalTokens));
  buffer.write(MAGIC, 0, 'latin1');
  buffer.writeUInt32LE(header.length, 8);
  header.copy(buffer, 12);
  const ints = new Int32Array(buffer.buffer, buffer.byteOffset + headerBytes, 5 * count + totalTokens);
  let offset = 5 * count;
  examples.forEach((example, i) => {
    ints[i] = example.id;
    ints[count + i] = example.inputIds.length;
    ints[2 * count + i] = example.maskedLength;
    ints[3 * count + i] = example.promptLength;
    ints[4 * count + i] = (example.truncated ? 1 : 0) | (example.prefixViolation ? 2 : 0);
    ints.set(example.inputIds, offset);
    offset += example.inputIds.length;
  });
  mkdirSync(cacheDir, { recursive: true });
  const path = cacheFilePath(cacheDir, key);
  const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(temp, buffer);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return path;
}

/** The cached examples for `key`, or null when absent, for another key, or damaged (the caller rebuilds). */
export function readTokenizedCache(cacheDir: string, key: string): TokenizedExample[] | null {
  let buffer: Buffer;
  try {
    buffer = readFileSync(cacheFilePath(cacheDir, key));
  } catch {
    return null;
  }
  try {
    if (buffer.length < 12 || buffer.toString('latin1', 0, 8) !== MAGIC) return null;
    const headerLength = buffer.readUInt32LE(8);
    const header = JSON.parse(buffer.toString('utf8', 12, 12 + headerLength)) as { version: number; key: string; count: number };
    if (header.version !== FORMAT_VERSION || header.key !== key) return null;
    const headerBytes = Math.ceil((12 + headerLength) / 4) * 4;
    const aligned = new Uint8Array(buffer.length - headerBytes);
    aligned.set(buffer.subarray(headerBytes));
    const ints = new Int32Array(aligned.buffer);
    const count = header.count;
    if (ints.length < 5 * count) return null;
    const examples: TokenizedExample[] = [];
    let offset = 5 * count;
    for (let i = 0; i < count; i++) {
      const length = ints[count + i];
      if (offset + length > ints.length) return null;
      const flags = ints[4 * count + i];
      examples.push({
        id: ints[i],
        inputIds: ints.slice(offset, offset + length),
        maskedLength: ints[2 * count + i],
        promptLength: ints[3 * count + i],
        truncated: (flags & 1) !== 0,
        prefixViolation: (flags & 2) !== 0,
      });
      offset += length;
    }
    return offset === ints.length ? examples : null;
  } catch {
    return null;
  }
}
