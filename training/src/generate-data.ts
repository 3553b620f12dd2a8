// CLI: synthetic repositories with questions, as JSONL shards for training and evaluation.
//
//   node out/training/src/generate-data.js --out training/data/train --examples 40000 \
//     --min-tokens 1024 --max-tokens 16384 --seed 1 --split train [--follow-ups 2]
//
// Writes <out>/<split>-00000.jsonl, ... (--shard-size examples each) and <out>/<split>-manifest.json.
// The same arguments give the same bytes on any machine with the same node_modules. Example i
// depends only on (seed, split, i), so --start lets several processes make one data set in
// parts: `--start 5000 --examples 5000` writes shards 00005.. of the same set. --format compact
// stores each distinct file block once (data/compact-shards.ts), for a GPU machine without Node.
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs, runCli, UsageError } from './cli-args';
import { BlockCache } from './data/block-cache';
import { CompactWriter } from './data/compact-shards';
import { ExampleBuilder } from './data/example-builder';
import { ExampleRecord } from './data/example-record';
import { ManifestTally } from './data/data-manifest';
import { loadSourcePool, SourceFile, Split, SPLITS } from './data/source-pool';
import { indexSplit } from './data/split-pool';
import { demoText, DemoText } from './vocab/demo-text';

const USAGE = [
  'usage: node out/training/src/generate-data.js --out DIR --examples N --split train|val|test',
  '         [--min-tokens 1024] [--max-tokens 16384] [--seed 1] [--follow-ups 0] [--shard-size 1000] [--start 0]',
  '         [--format jsonl|compact] [--pool node_modules] [--max-file-bytes 16000]',
].join('\n');

export interface GenerateOptions {
  readonly out: string;
  readonly examples: number;
  /** First example index (a multiple of shardSize): several processes can each make a range of one data set. */
  readonly start?: number;
  readonly split: Split;
  readonly minTokens: number;
  readonly maxTokens: number;
  readonly seed: number;
  readonly shardSize: number;
  /** Earlier question-answer turns per example: 0 to this many (default 0). */
  readonly followUps?: number;
  readonly poolRoot?: string;
  /** Largest source file in bytes (default the pool's 16,000): small files keep a fact near its file's header. */
  readonly maxFileBytes?: number;
  readonly log?: (line: string) => void;
  /** 'jsonl' (default): full prompts. 'compact': each distinct file block stored once (data/compact-shards.ts). */
  readonly format?: 'jsonl' | 'compact';
  /** Already loaded pool and tokenizer (tests share them); loaded from poolRoot and the committed vocabulary otherwise. */
  readonly pool?: readonly SourceFile[];
  readonly text?: DemoText;
}

export function generateData(options: GenerateOptions): string[] {
  const text = options.text ?? demoText();
  const pool = indexSplit(options.pool ?? loadSourcePool({ root: options.poolRoot, maxBytes: options.maxFileBytes }), options.split);
  const blocks = new BlockCache(text.tokenizer);
  const builder = new ExampleBuilder(text, pool, blocks);
  const byPath = new Map(pool.files.map((f) => [f.file.path, f.file]));
  const compact = options.format === 'compact' ? new CompactWriter(options.out, options.split) : undefined;
  fs.mkdirSync(options.out, { recursive: true });
  const tally = new ManifestTally();
  const shards: string[] = [];
  const started = Date.now();
  const start = options.start ?? 0;
  if (!Number.isInteger(start) || start < 0 || start % options.shardSize !== 0) {
    throw new UsageError(`--start must be a multiple of --shard-size (${options.shardSize}), got ${start}`);
  }
  const end = start + options.examples;
  for (let first = start; first < end; first += options.shardSize) {
    const number = String(first / options.shardSize).padStart(5, '0');
    const name = compact ? `${options.split}-${number}.compact.jsonl.gz` : `${options.split}-${number}.jsonl`;
    const records: ExampleRecord[] = [];
    for (let index = first; index < Math.min(end, first + options.shardSize); index++) {
      const record = builder.build(options.seed, index, { minTokens: options.minTokens, maxTokens: options.maxTokens }, { followUps: options.followUps });
      tally.add(record);
      records.push(record);
    }
    if (compact) {
      compact.writeShard(name, records.map((r) => compact.add(r, (file) => blocks.get(byPath.get(file) as SourceFile).tokens)));
    } else {
      fs.writeFileSync(path.join(options.out, name), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    }
    shards.push(name);
    options.log?.(`${name}: ${records.length} examples (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  compact?.finish();
  const manifest = tally.manifest(
    {
      split: options.split,
      seed: options.seed,
      examples: options.examples,
      start,
      minTokens: options.minTokens,
      maxTokens: options.maxTokens,
      followUps: options.followUps ?? 0,
      ...(options.maxFileBytes === undefined ? {} : { maxFileBytes: options.maxFileBytes }),
      shards,
    },
    text.vocab,
    pool,
  );
  const manifestName = start === 0 ? `${options.split}-manifest.json` : `${options.split}-manifest-from-${start}.json`;
  fs.writeFileSync(path.join(options.out, manifestName), JSON.stringify(manifest, null, 2) + '\n');
  return shards.map((name) => path.join(options.out, name));
}

if (require.main === module) {
  runCli(async () => {
    const args = parseArgs(process.argv.slice(2), { values: ['out', 'examples', 'start', 'format', 'split', 'min-tokens', 'max-tokens', 'seed', 'shard-size', 'follow-ups', 'pool', 'max-file-bytes'] });
    const split = args.required('split');
    if (!(SPLITS as readonly string[]).includes(split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got ${split}`);
    const format = args.value('format') ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'compact') throw new UsageError(`--format must be jsonl or compact, got ${format}`);
    generateData({
      out: args.required('out'),
      examples: args.integer('examples'),
      start: args.integer('start', 0),
      split: split as Split,
      minTokens: args.integer('min-tokens', 1024),
      maxTokens: args.integer('max-tokens', 16384),
      seed: args.integer('seed', 1),
      shardSize: args.integer('shard-size', 1000),
      followUps: args.integer('follow-ups', 0),
      format: format as 'jsonl' | 'compact',
      poolRoot: args.value('pool'),
      maxFileBytes: args.value('max-file-bytes') === undefined ? undefined : args.integer('max-file-bytes'),
      log: (line) => process.stdout.write(line + '\n'),
    });
  }, USAGE);
}
