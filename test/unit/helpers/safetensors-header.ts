// Reads a safetensors file's header (tensor names, dtypes, shapes) for tests.
import { readFileSync } from 'node:fs';

export function safetensorsHeader(path: string): Record<string, { dtype: string; shape: number[] }> {
  const buf = readFileSync(path);
  const length = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + length)) as Record<string, { dtype: string; shape: number[] }>;
  delete header.__metadata__;
  return header;
}
