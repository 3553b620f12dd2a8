// The compact form of a data set, small enough to travel to a GPU machine that has no Node
// (and so cannot run the generator): every repository is a list of file blocks, and the
// blocks repeat across examples, so each distinct block's tokens are stored once.
//
//   <split>-blocks.u16              the tokens of every block, little-endian uint16, one after another
//   <split>-blocks.json             { head: [...], blocks: [{ path, offset, length }, ...] }
//   <split>-NNNNN.compact.jsonl.gz  one record a line: the ExampleRecord without `prompt`, with
//                                   `blocks` (block ids in prompt order) and `suffix` (its tokens)
//
// prompt = head + the blocks' tokens in order + suffix; training/data.py rebuilds it so.
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { ExampleRecord } from './example-record';

export interface CompactRecord extends Omit<ExampleRecord, 'prompt'> {
  readonly blocks: readonly number[];
  readonly suffix: readonly number[];
}

interface StoredBlock {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
}

export class CompactWriter {
  private readonly ids = new Map<string, number>();
  private readonly stored: StoredBlock[] = [];
  private readonly tokenChunks: Uint16Array[] = [];
  private tokenCount = 0;
  private head: readonly number[] | undefined;

  constructor(
    private readonly dir: string,
    private readonly split: string,
  ) {}

  /** The record in compact form; `blockTokens(path)` gives the tokens of a file's block. */
  add(record: ExampleRecord, blockTokens: (path: string) => Int32Array): CompactRecord {
    const head = record.prompt.slice(0, record.headLength);
    if (this.head === undefined) this.head = head;
    else if (head.length !== this.head.length || head.some((id, i) => id !== this.head![i])) throw new Error(`${record.id}: another chat head`);
    let at = record.headLength;
    const blocks = record.files.map((file) => {
      const tokens = blockTokens(file);
      for (let i = 0; i < tokens.length; i++) {
        if (record.prompt[at + i] !== tokens[i]) throw new Error(`${record.id}: the prompt does not hold ${file}'s block at token ${at}`);
      }
      at += tokens.length;
      return this.blockId(file, tokens);
    });
    if (at !== record.prefixLength) throw new Error(`${record.id}: the blocks end at ${at}, the prefix at ${record.prefixLength}`);
    const { prompt, ...rest } = record;
    return { ...rest, blocks, suffix: prompt.slice(record.prefixLength) };
  }

  writeShard(name: string, records: readonly CompactRecord[]): void {
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    // A fixed level and no timestamp keep the bytes the same from run to run.
    fs.writeFileSync(path.join(this.dir, name), zlib.gzipSync(text, { level: 6 }));
  }

  /** The block table: written once, after every shard. */
  finish(): void {
    const tokens = new Uint16Array(this.tokenCount);
    let at = 0;
    for (const chunk of this.tokenChunks) {
      tokens.set(chunk, at);
      at += chunk.length;
    }
    fs.writeFileSync(path.join(this.dir, `${this.split}-blocks.u16`), new Uint8Array(tokens.buffer));
    fs.writeFileSync(path.join(this.dir, `${this.split}-blocks.json`), JSON.stringify({ head: this.head ?? [], blocks: this.stored }) + '\n');
  }

  private blockId(file: string, tokens: Int32Array): number {
    let id = this.ids.get(file);
    if (id === undefined) {
      id = this.stored.length;
      this.ids.set(file, id);
      const chunk = new Uint16Array(tokens.length);
      for (let i = 0; i < tokens.length; i++) {
        if (tokens[i] > 0xffff) throw new Error(`token id ${tokens[i]} does not fit the compact format's 16 bits`);
        chunk[i] = tokens[i];
      }
      this.stored.push({ path: file, offset: this.tokenCount, length: tokens.length });
      this.tokenChunks.push(chunk);
      this.tokenCount += tokens.length;
    }
    return id;
  }
}

/** Reads a compact data set back into full records (for checks; training reads it in Python). */
export function readCompactSplit(dir: string, split: string): ExampleRecord[] {
  const table = JSON.parse(fs.readFileSync(path.join(dir, `${split}-blocks.json`), 'utf8')) as { head: number[]; blocks: StoredBlock[] };
  const raw = fs.readFileSync(path.join(dir, `${split}-blocks.u16`));
  const tokens = new Uint16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const shards = fs.readdirSync(dir).filter((n) => new RegExp(`^${split}-\\d{5}\\.compact\\.jsonl\\.gz$`).test(n)).sort();
  const records: ExampleRecord[] = [];
  for (const shard of shards) {
    const lines = zlib.gunzipSync(fs.readFileSync(path.join(dir, shard))).toString('utf8').split('\n').filter((l) => l.trim() !== '');
    for (const line of lines) {
      const { blocks, suffix, ...rest } = JSON.parse(line) as CompactRecord;
      const prompt = [...table.head];
      for (const id of blocks) {
        const block = table.blocks[id];
        for (let i = 0; i < block.length; i++) prompt.push(tokens[block.offset + i]);
      }
      prompt.push(...suffix);
      records.push({ ...rest, prompt });
    }
  }
  return records;
}
