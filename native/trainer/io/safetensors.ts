// Safetensors in TypeScript for the trainer's own small jobs (exporting a full finetune as a
// Hugging Face folder, building the bundled tiny model): read a file's tensors as fp32, write
// F32 or BF16 (round to nearest even) atomically. Large-model I/O stays in the native engine.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../run/atomic';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export type StoredDType = 'F32' | 'BF16';

export function f32ToBf16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) out[i] = (b >>> 16) | 0x40;
    else out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** Reads every tensor (F32, BF16 or F16) as fp32. Throws naming the file on a malformed header. */
export function readSafetensors(path: string): NamedTensor[] {
  const buf = readFileSync(path);
  if (buf.length < 8) throw new Error(`${path}: not a safetensors file (shorter than 8 bytes)`);
  const headerLength = Number(buf.readBigUInt64LE(0));
  if (headerLength > buf.length - 8) throw new Error(`${path}: header length ${headerLength} runs past the end of the file`);
  const header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLength;
  const out: NamedTensor[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    const numel = info.shape.reduce((a, b) => a * b, 1);
    const bytes = buf.subarray(base + begin, base + end);
    const data = new Float32Array(numel);
    if (info.dtype === 'F32') {
      for (let i = 0; i < numel; i++) data[i] = bytes.readFloatLE(4 * i);
    } else if (info.dtype === 'BF16') {
      const view = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < numel; i++) {
        view.setUint32(0, bytes.readUInt16LE(2 * i) << 16, true);
        data[i] = view.getFloat32(0, true);
      }
    } else if (info.dtype === 'F16') {
      for (let i = 0; i < numel; i++) data[i] = halfToFloat(bytes.readUInt16LE(2 * i));
    } else {
      throw new Error(`${path}: tensor ${name} has dtype ${info.dtype}; only F32, BF16 and F16 are read`);
    }
    out.push({ name, shape: info.shape, data });
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Writes the tensors in order, header padded to 8 bytes, metadata {"format": "pt"}, atomically. */
export function writeSafetensors(path: string, tensors: readonly NamedTensor[], dtype: StoredDType): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = dtype === 'F32' ? Buffer.from(new Float32Array(t.data).buffer) : Buffer.from(f32ToBf16Bits(t.data).buffer);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(path, Buffer.concat([length, Buffer.from(json, 'utf8'), ...blobs]));
}
