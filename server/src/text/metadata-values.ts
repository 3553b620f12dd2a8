// Typed reads of GGUF metadata values as the engine hands them over (u64/i64 as bigint,
// arrays as plain arrays). Every failure names the key, so a broken file is easy to diagnose.
import type { MetadataValue } from '../engine';

export type Metadata = Readonly<Record<string, MetadataValue>>;

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return 'a typed array';
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

function badValue(key: string, expected: string, value: unknown): Error {
  return new Error(`GGUF metadata ${key} must be ${expected}, but it is ${describe(value)}`);
}

export function readString(metadata: Metadata, key: string): string | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badValue(key, 'a string', value);
  return value;
}

export function readBoolean(metadata: Metadata, key: string): boolean | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badValue(key, 'a boolean', value);
  return value;
}

/** A token id: any integer type (u32 and u64 both occur in the wild), within [0, vocabSize). */
export function readTokenId(metadata: Metadata, key: string, vocabSize: number): number | undefined {
  const value = metadata[key];
  if (value === undefined) return undefined;
  const id = typeof value === 'bigint' ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw badValue(key, 'an integer token id', value);
  if (id < 0 || id >= vocabSize) {
    throw new Error(`GGUF metadata ${key} = ${id} is outside the vocabulary (${vocabSize} tokens): the file is inconsistent`);
  }
  return id;
}

function readArray(metadata: Metadata, key: string): ArrayLike<unknown> | undefined {
  const value: unknown = metadata[key];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value as unknown[];
  // The addon returns plain arrays today; typed arrays are accepted so a future compact form keeps working.
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return value as unknown as ArrayLike<unknown>;
  throw badValue(key, 'an array', value);
}

export function readStringArray(metadata: Metadata, key: string): readonly string[] | undefined {
  const items = readArray(metadata, key);
  if (items === undefined) return undefined;
  for (let i = 0; i < items.length; i++) {
    if (typeof items[i] !== 'string') throw badValue(`${key}[${i}]`, 'a string', items[i]);
  }
  return Array.isArray(items) ? (items as string[]) : Array.from(items as ArrayLike<string>);
}

/** A numeric array of exactly `length` items (the vocabulary size), copied into `target`'s type. */
export function readNumberArray<T extends Int32Array | Float32Array>(
  metadata: Metadata,
  key: string,
  length: number,
  make: (length: number) => T,
): T | undefined {
  const items = readArray(metadata, key);
  if (items === undefined) return undefined;
  if (items.length !== length) {
    throw new Error(`GGUF metadata ${key} has ${items.length} entries but the vocabulary has ${length} tokens: the file is inconsistent`);
  }
  const out = make(length);
  for (let i = 0; i < length; i++) {
    const item = items[i];
    const number = typeof item === 'bigint' ? Number(item) : item;
    if (typeof number !== 'number') throw badValue(`${key}[${i}]`, 'a number', item);
    out[i] = number;
  }
  return out;
}
