// A small schema checker for what arrives from outside the server (LSP
// requests, initialization options, the settings of other entry points).
// Every check names the parameter it rejects, so a client sees
// "ask.maxTokens must be a whole number from 1 to 4096, not "x"" instead of a
// TypeError from deep inside, and nothing unchecked reaches the session.

/** A request parameter that does not fit its schema. The LSP layer answers it as InvalidParams. */
export class InvalidParamsError extends Error {
  override name = 'InvalidParamsError';
}

/** Checks `value` (found at `where`, e.g. "ask.selection.text") and returns it typed, or throws InvalidParamsError. */
export type Check<T> = (value: unknown, where: string) => T;

/** A short, safe rendering of a rejected value: never the whole of a 10 MB string. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function reject(where: string, expected: string, value: unknown): never {
  throw new InvalidParamsError(`${where} must be ${expected}, not ${shown(value)}`);
}

export function text(options: { maxLength: number; nonBlank?: boolean }): Check<string> {
  return (value, where) => {
    if (typeof value !== 'string') reject(where, 'a string', value);
    if (value.length > options.maxLength) {
      throw new InvalidParamsError(`${where} is too long: ${value.length} characters, at most ${options.maxLength} are accepted`);
    }
    if (options.nonBlank && value.trim() === '') throw new InvalidParamsError(`${where} is empty`);
    return value;
  };
}

export function integer(min: number, max: number): Check<number> {
  return (value, where) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      reject(where, `a whole number from ${min} to ${max}`, value);
    }
    return value;
  };
}

export function finite(min: number, max: number): Check<number> {
  return (value, where) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) reject(where, `a number from ${min} to ${max}`, value);
    return value;
  };
}

export const boolean: Check<boolean> = (value, where) => {
  if (typeof value !== 'boolean') reject(where, 'true or false', value);
  return value;
};

export function oneOf<T extends string>(...choices: T[]): Check<T> {
  return (value, where) => {
    if (typeof value !== 'string' || !(choices as string[]).includes(value)) reject(where, choices.map((c) => `'${c}'`).join(' or '), value);
    return value as T;
  };
}

export function either<A, B>(a: Check<A>, b: Check<B>, expected: string): Check<A | B> {
  return (value, where) => {
    try {
      return a(value, where);
    } catch {
      try {
        return b(value, where);
      } catch {
        return reject(where, expected, value);
      }
    }
  };
}

export function list<T>(item: Check<T>, maxLength: number): Check<T[]> {
  return (value, where) => {
    if (!Array.isArray(value)) reject(where, 'a list', value);
    if (value.length > maxLength) throw new InvalidParamsError(`${where} has ${value.length} entries, at most ${maxLength} are accepted`);
    return value.map((entry, i) => item(entry, `${where}[${i}]`));
  };
}

/** A field that may be absent (undefined or null: JSON clients send either). */
export interface Optional<T> {
  optional: true;
  check: Check<T>;
}

export function optional<T>(check: Check<T>): Optional<T> {
  return { optional: true, check };
}

type Field = Check<unknown> | Optional<unknown>;
type Shape = Record<string, Field>;
type FieldType<F> = F extends Optional<infer T> ? T | undefined : F extends Check<infer T> ? T : never;
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? never : K }[keyof S];
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? K : never }[keyof S];
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: FieldType<S[K]> } & { [K in OptionalKeys<S>]?: FieldType<S[K]> };

/**
 * An object with these fields. Unknown fields are dropped rather than refused:
 * a newer client may send more, and nothing unchecked is passed on.
 */
export function object<S extends Shape>(shape: S): Check<ObjectOf<S>> {
  return (value, where) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) reject(where, 'an object', value);
    const source = value as Record<string, unknown>;
    const result: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(shape)) {
      const given = Object.prototype.hasOwnProperty.call(source, key) ? source[key] : undefined;
      const at = `${where}.${key}`;
      if ('optional' in field) {
        if (given !== undefined && given !== null) result[key] = field.check(given, at);
      } else {
        if (given === undefined || given === null) throw new InvalidParamsError(`${at} is missing`);
        result[key] = field(given, at);
      }
    }
    return result as ObjectOf<S>;
  };
}

/** Params that may be left out altogether (LSP allows a request without params): an empty object then. */
export function params<S extends Shape>(shape: S): Check<ObjectOf<S>> {
  const check = object(shape);
  return (value, where) => check(value === undefined || value === null ? {} : value, where);
}
