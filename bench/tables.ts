// Markdown tables with padded columns: readable in a terminal, pasteable into a README.

export type Align = 'left' | 'right';

export interface Column {
  readonly header: string;
  readonly align?: Align;
}

/** Text columns (left-aligned), one per header. */
export const left = (...headers: string[]): Column[] => headers.map((header) => ({ header }));

/** Number columns (right-aligned), one per header. */
export const right = (...headers: string[]): Column[] => headers.map((header) => ({ header, align: 'right' }));

export interface Table {
  readonly title: string;
  readonly columns: readonly Column[];
  readonly rows: ReadonlyArray<readonly string[]>;
  /** Lines printed under the table (what the columns mean, caveats). */
  readonly notes?: readonly string[];
}

export function renderTable(table: Table): string {
  const { columns, rows } = table;
  for (const row of rows) {
    if (row.length !== columns.length) throw new Error(`table "${table.title}": a row has ${row.length} cells for ${columns.length} columns`);
  }
  const widths = columns.map((column, i) => Math.max(3, column.header.length, ...rows.map((row) => row[i].length)));
  const pad = (text: string, i: number): string =>
    columns[i].align === 'right' ? text.padStart(widths[i]) : text.padEnd(widths[i]);
  const line = (cells: readonly string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (columns[i].align === 'right' ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  const out = [`### ${table.title}`, '', line(columns.map((c) => c.header)), rule, ...rows.map(line)];
  if (table.notes && table.notes.length > 0) out.push('', ...table.notes);
  return out.join('\n');
}

/** A number with `digits` decimals, or with fewer for large values so columns stay narrow. */
export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toFixed(digits);
}

export function fmtPercent(part: number, whole: number): string {
  return whole > 0 ? `${(100 * part / whole).toFixed(0)}%` : 'n/a';
}

export function fmtInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function fmtMillions(value: number): string {
  return `${(value / 1e6).toFixed(1)}M`;
}

export function fmtBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}
