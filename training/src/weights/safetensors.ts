// Safetensors, read and written by hand: an unsigned 64-bit little-endian header length N,
// N bytes of JSON ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__: {...} }),
// then the tensors' raw little-endian bytes, row-major. training/safetensors_io.py is the
// Python side of the same format; train.py writes float32.
import * as fs from 'fs';
import { bf16Value, f16Value } from '../../../test/fixtures/half-floats';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface NamedTensor {
  readonly name: string;
  /** As stored: row-major, outermost dimension first (torch's [out, in] for a Linear weight). */
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, NamedTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

const BYTES: Readonly<Record<SafetensorsDtype, number>> = { F32: 4, F16: 2, BF16: 2 };

export function readSafetensors(file: string): SafetensorsFile {
  const bytes = fs.readFileSync(file);
  const fail = (what: string): never => {
    throw new Error(`${file} is not a safetensors file train.py wrote: ${what}`);
  };
  if (bytes.length < 8) fail('shorter than its header length');
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > bytes.length - 8) fail(`header of ${headerLength} bytes in a file of ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    return fail(`header is not JSON (${(error as Error).message})`);
  }
  const base = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const info = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info.dtype as SafetensorsDtype;
    if (!(dtype in BYTES)) fail(`${name} has dtype ${String(info.dtype)}; F32, F16 and BF16 are read`);
    const shape = info.shape as number[];
    const [begin, end] = info.data_offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype] || base + end > bytes.length) fail(`${name}: offsets ${begin}..${end} do not fit shape [${shape}]`);
    tensors.set(name, { name, shape, values: decode(bytes.subarray(base + begin, base + end), dtype, count) });
  }
  return { tensors, metadata };
}

function decode(data: Buffer, dtype: SafetensorsDtype, count: number): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32') {
    // Copied through a fresh buffer: the data need not be 4-byte aligned in the file.
    new Uint8Array(out.buffer).set(data);
  } else {
    const half = dtype === 'F16' ? f16Value : bf16Value;
    for (let i = 0; i < count; i++) out[i] = half(data.readUInt16LE(2 * i));
  }
  return out;
}

/** float32 tensors, sorted by name, header padded to 8 bytes: as safetensors_io.write_safetensors. */
export function writeSafetensors(file: string, tensors: readonly NamedTensor[], metadata: Readonly<Record<string, string>> = {}): void {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of sorted) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.values.length) throw new Error(`${t.name}: shape [${t.shape}] holds ${count} values, got ${t.values.length}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts: Uint8Array[] = [length, Buffer.from(json, 'utf8')];
  for (const t of sorted) parts.push(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  fs.writeFileSync(file, Buffer.concat(parts));
}
