// What a generated data folder was made from, written next to its shards, so a training run
// can be traced to its seed, length range, vocabulary and the exact source files.
import { createHash } from 'crypto';
import { SmallVocab, serializeSmallVocab } from '../vocab/small-vocab';
import { ExampleRecord } from './example-record';
import { SplitPool } from './split-pool';

export interface DataManifest {
  readonly split: string;
  readonly seed: number;
  readonly examples: number;
  /** First example index of this part of the data set. */
  readonly start: number;
  readonly minTokens: number;
  readonly maxTokens: number;
  readonly followUps: number;
  /** Largest source file in bytes, when the pool was cut short. */
  readonly maxFileBytes?: number;
  readonly shards: readonly string[];
  /** sha256 of the committed vocabulary file's content. */
  readonly vocabSha256: string;
  readonly poolFiles: number;
  /** sha256 over "path sha256\n" of every file of the split, in order. */
  readonly poolSha256: string;
  readonly kinds: Readonly<Record<string, number>>;
  readonly promptTokens: { readonly min: number; readonly mean: number; readonly max: number; readonly total: number };
}

export class ManifestTally {
  private readonly kinds: Record<string, number> = {};
  private min = Infinity;
  private max = 0;
  private total = 0;
  private count = 0;

  add(record: ExampleRecord): void {
    this.kinds[record.kind] = (this.kinds[record.kind] ?? 0) + 1;
    this.min = Math.min(this.min, record.promptLength);
    this.max = Math.max(this.max, record.promptLength);
    this.total += record.promptLength;
    this.count++;
  }

  manifest(base: Omit<DataManifest, 'kinds' | 'promptTokens' | 'vocabSha256' | 'poolFiles' | 'poolSha256'>, vocab: SmallVocab, pool: SplitPool): DataManifest {
    const poolHash = createHash('sha256');
    for (const f of pool.files) poolHash.update(`${f.file.path} ${f.file.sha256}\n`);
    return {
      ...base,
      vocabSha256: createHash('sha256').update(serializeSmallVocab(vocab)).digest('hex'),
      poolFiles: pool.files.length,
      poolSha256: poolHash.digest('hex'),
      kinds: this.kinds,
      promptTokens: { min: this.count ? this.min : 0, mean: this.count ? Math.round(this.total / this.count) : 0, max: this.max, total: this.total },
    };
  }
}
