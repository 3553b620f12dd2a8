// The accuracy table: one row per method, one column per prompt-length set (4K, 16K), exact
// match in percent, and below it how often SnapKV's kept positions hold the answer's lines.
import { ExampleOutcome, MethodOutcome } from './run-example';

export interface EvaluatedSet {
  /** Column heading, e.g. "4K". */
  readonly label: string;
  readonly examples: readonly ExampleOutcome[];
}

export interface TableCell {
  readonly correct: number;
  readonly total: number;
}

/** Means over examined examples of LineKept.layersKeeping (see kept-lines.ts). */
export interface KeptSummary {
  readonly method: string;
  readonly set: string;
  readonly examples: number;
  /** The line holding the answer's text. */
  readonly answerLine: number;
  /** The line stating the fact. */
  readonly factLine: number;
  /** Spans as long as the answer's line elsewhere in the repository. */
  readonly control: number;
}

export interface AccuracyTable {
  readonly methods: readonly string[];
  readonly sets: readonly string[];
  /** cells[method][set] */
  readonly cells: readonly (readonly TableCell[])[];
  /** For each set and SnapKV method with examined examples: mean fraction of layers keeping the lines. */
  readonly kept: ReadonlyArray<KeptSummary>;
}

export function buildAccuracyTable(sets: readonly EvaluatedSet[]): AccuracyTable {
  const methods: string[] = [];
  for (const set of sets) for (const ex of set.examples) for (const o of ex.outcomes) if (!methods.includes(o.method)) methods.push(o.method);
  const cells = methods.map((method) =>
    sets.map((set) => {
      let correct = 0;
      let total = 0;
      for (const ex of set.examples) {
        const o = ex.outcomes.find((x) => x.method === method);
        if (o === undefined) continue;
        total++;
        if (o.correct) correct++;
      }
      return { correct, total };
    }),
  );
  const kept: KeptSummary[] = [];
  for (const set of sets) {
    for (const method of methods) {
      const examined = set.examples.flatMap((ex) => ex.outcomes.filter((o) => o.method === method && o.answerLine !== undefined));
      if (examined.length > 0) kept.push(summarizeKept(method, set.label, examined));
    }
  }
  return { methods, sets: sets.map((s) => s.label), cells, kept };
}

export function summarizeKept(method: string, set: string, examined: readonly MethodOutcome[]): KeptSummary {
  return {
    method,
    set,
    examples: examined.length,
    answerLine: mean(examined.map((o) => o.answerLine?.layersKeeping ?? 0)),
    factLine: mean(examined.map((o) => o.factLine?.layersKeeping ?? 0)),
    control: mean(examined.map((o) => o.control?.layersKeeping ?? 0)),
  };
}

export function accuracy(cell: TableCell): number {
  return cell.total === 0 ? NaN : cell.correct / cell.total;
}

export function cellOf(table: AccuracyTable, method: string, set: string): TableCell {
  const m = table.methods.indexOf(method);
  const s = table.sets.indexOf(set);
  if (m < 0 || s < 0) throw new Error(`the table has no cell for ${method} at ${set}`);
  return table.cells[m][s];
}

export function formatAccuracyTable(table: AccuracyTable): string {
  const width = Math.max(12, ...table.methods.map((m) => m.length)) + 2;
  const headings = table.sets.map((set, s) => `${set} (n=${table.cells[0]?.[s]?.total ?? 0})`);
  const colWidth = Math.max(12, ...headings.map((h) => h.length)) + 2;
  const lines = ['method'.padEnd(width) + headings.map((h) => h.padStart(colWidth)).join('')];
  table.methods.forEach((method, m) => {
    lines.push(method.padEnd(width) + table.cells[m].map((cell) => percent(accuracy(cell)).padStart(colWidth)).join(''));
  });
  if (table.kept.length > 0) {
    lines.push('', 'lines kept by SnapKV (mean fraction of layers in which some head keeps half the line or more):');
    for (const k of table.kept) {
      lines.push(
        `  ${k.method} at ${k.set} (${k.examples} examples): line holding the answer ${percent(k.answerLine)}, ` +
          `line stating the fact ${percent(k.factLine)}, same-size spans elsewhere ${percent(k.control)}`,
      );
    }
  }
  return lines.join('\n');
}

export interface GateResult {
  readonly ok: boolean;
  readonly full: number;
  readonly snapkv: number;
  readonly message: string;
}

/** The gate: SnapKV at `budget` keeps at least `ratio` of the full cache's accuracy at `set`. */
export function snapKvGate(table: AccuracyTable, set: string, budget = 512, ratio = 0.9): GateResult {
  const full = accuracy(cellOf(table, 'full cache', set));
  const snapkv = accuracy(cellOf(table, `SnapKV ${budget}`, set));
  const ok = snapkv >= ratio * full;
  const message = `SnapKV ${budget} at ${set}: ${percent(snapkv)} against the full cache's ${percent(full)} (needs ${percent(ratio * full)} or more)`;
  return { ok, full, snapkv, message };
}

/**
 * The second gate: SnapKV beats the most recent tokens at every budget the table holds
 * for `set` (strictly, unless both answer every question).
 */
export function recentGate(table: AccuracyTable, set: string): GateResult & { readonly budgets: readonly number[] } {
  const budgets = table.methods.filter((m) => m.startsWith('SnapKV ')).map((m) => Number(m.slice('SnapKV '.length)));
  const losses: string[] = [];
  for (const budget of budgets) {
    if (!table.methods.includes(`recent ${budget}`)) continue;
    const snapkv = accuracy(cellOf(table, `SnapKV ${budget}`, set));
    const recent = accuracy(cellOf(table, `recent ${budget}`, set));
    if (!(snapkv > recent || (snapkv === 1 && recent === 1))) losses.push(`${budget}: SnapKV ${percent(snapkv)}, recent ${percent(recent)}`);
  }
  const ok = losses.length === 0;
  const message = ok ? `SnapKV beats the most recent tokens at every budget at ${set}` : `SnapKV does not beat the most recent tokens at ${set} at budget ${losses.join('; ')}`;
  return { ok, full: accuracy(cellOf(table, 'full cache', set)), snapkv: NaN, message, budgets };
}

function percent(x: number): string {
  return Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
