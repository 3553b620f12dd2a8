// A benchmark section: measures something, returns tables to print and JSON to keep.
// cpu-bench.ts runs the sections in order; a new measurement is a new section.
import { BenchModelFile, WeightType } from './bench-model';
import { BandwidthResult, PeakResult } from './native-tools';
import { Table } from './tables';

export interface BenchContext {
  readonly threads: number;
  readonly weightTypes: readonly WeightType[];
  readonly peak: PeakResult;
  /** Memory read bandwidth with the same threads: the ceiling of decode. */
  readonly bandwidth: BandwidthResult;
  /** The bench model file of a weight type, written on first use and reused after. */
  modelFile(type: WeightType): BenchModelFile;
  /** Progress lines (stderr), kept apart from the tables (stdout). */
  log(line: string): void;
}

export interface SectionResult {
  readonly tables: readonly Table[];
  readonly json: unknown;
}

export interface BenchSection {
  /** Key of the section's results in the JSON file. */
  readonly key: string;
  run(context: BenchContext): Promise<SectionResult>;
}
