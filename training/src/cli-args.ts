// The small command-line parser the training tools share: --name value pairs and --flag
// switches, every name declared up front so that a typo is an error, not a silent default.

export interface ArgSpec {
  /** Names taking a value. */
  readonly values: readonly string[];
  /** Names that are switches (no value). */
  readonly flags?: readonly string[];
}

export interface ParsedArgs {
  value(name: string): string | undefined;
  required(name: string): string;
  integer(name: string, fallback?: number): number;
  number(name: string, fallback?: number): number;
  list(name: string, fallback: readonly number[]): number[];
  flag(name: string): boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.flags?.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (spec.values.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  const required = (name: string): string => {
    const value = values.get(name);
    if (value === undefined) throw new UsageError(`--${name} is required`);
    return value;
  };
  const numeric = (name: string, fallback: number | undefined, integer: boolean): number => {
    const text = values.get(name);
    if (text === undefined) {
      if (fallback === undefined) throw new UsageError(`--${name} is required`);
      return fallback;
    }
    const n = Number(text);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got ${text}`);
    return n;
  };
  return {
    value: (name) => values.get(name),
    required,
    integer: (name, fallback) => numeric(name, fallback, true),
    number: (name, fallback) => numeric(name, fallback, false),
    list: (name, fallback) => {
      const text = values.get(name);
      if (text === undefined) return [...fallback];
      const items = text.split(',').map((s) => Number(s.trim()));
      if (items.some((n) => !Number.isInteger(n))) throw new UsageError(`--${name} must be a comma-separated list of integers, got ${text}`);
      return items;
    },
    flag: (name) => flags.has(name),
  };
}

/** Runs a CLI's main, printing usage errors without a stack trace. */
export function runCli(main: () => Promise<void>, usage: string): void {
  main().catch((error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${usage}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  });
}
