// One training or evaluation example as a line of a JSONL shard: the prompt's token ids
// exactly as the server would build them, the answer's token ids, and what is needed to
// score and to trace the answer back to its lines.
import * as fs from 'fs';
import * as readline from 'readline';
import { FactKind } from './code-facts';
import type { FollowUp } from './follow-ups';
import { Split } from './source-pool';

/** [start, end): token positions in the prompt. */
export type TokenSpan = readonly [number, number];

export interface ExampleRecord {
  readonly id: string;
  readonly split: Split;
  readonly seed: number;
  readonly index: number;
  readonly kind: FactKind;
  /** What the question names: the function, the constant or the module. */
  readonly subject: string;
  /** The question as the user would type it (the suffix holds questionText() of it). */
  readonly question: string;
  /** The expected answer; scoring compares it with the generated text, both trimmed. */
  readonly answer: string;
  readonly answerFile: string;
  /** 1-based, inclusive: the lines of answerFile that state the fact. */
  readonly answerLines: readonly [number, number];
  /** Where the answer's lines sit in the repository text: 0 = first token, 1 = last. */
  readonly depth: number;
  readonly promptLength: number;
  /** Tokens of the chat head: the repository starts here. */
  readonly headLength: number;
  /** Head plus repository: the part a PrefixCache holds; the question suffix starts here. */
  readonly prefixLength: number;
  /** The repository's files in prompt order. */
  readonly files: readonly string[];
  readonly answerBlock: number;
  /** The tokens of answerLines. */
  readonly evidenceTokens: TokenSpan;
  /** The tokens of the answer file's header line (`<file path="...">`), which holds a path answer. */
  readonly headerTokens: TokenSpan;
  /** Earlier turns of the conversation (in the suffix, before the question); empty for a first question. */
  readonly followUps: readonly FollowUp[];
  /** Where each earlier answer and its end-of-turn token sit in the prompt: more answer tokens to train on. */
  readonly followUpAnswerTokens: readonly TokenSpan[];
  readonly prompt: readonly number[];
  /** The answer's tokens followed by the end-of-turn token: what the model must produce. */
  readonly target: readonly number[];
}

const KINDS: readonly FactKind[] = ['function-file', 'constant-value', 'import-file'];

/** Parses and checks one JSONL line, so that a stale or foreign shard fails loudly. */
export function parseExampleRecord(line: string, where: string): ExampleRecord {
  const value: unknown = JSON.parse(line);
  const fail = (what: string): never => {
    throw new Error(`${where}: not an example record: ${what}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const r = value as Record<string, unknown>;
  const ints = (key: string): number[] =>
    Array.isArray(r[key]) && (r[key] as unknown[]).every((n) => Number.isInteger(n)) ? (r[key] as number[]) : fail(`${key} is not an integer array`);
  const int = (key: string): number => (Number.isInteger(r[key]) ? (r[key] as number) : fail(`${key} is not an integer`));
  const str = (key: string): string => (typeof r[key] === 'string' ? (r[key] as string) : fail(`${key} is not a string`));
  const pair = (key: string): [number, number] => {
    const items = ints(key);
    return items.length === 2 ? [items[0], items[1]] : fail(`${key} is not a pair`);
  };
  const kind = str('kind');
  if (!(KINDS as readonly string[]).includes(kind)) fail(`unknown kind ${kind}`);
  const split = str('split');
  if (split !== 'train' && split !== 'val' && split !== 'test') fail(`unknown split ${split}`);
  const prompt = ints('prompt');
  const record: ExampleRecord = {
    id: str('id'),
    split: split as Split,
    seed: int('seed'),
    index: int('index'),
    kind: kind as FactKind,
    subject: str('subject'),
    question: str('question'),
    answer: str('answer'),
    answerFile: str('answerFile'),
    answerLines: pair('answerLines'),
    depth: typeof r.depth === 'number' ? r.depth : fail('depth is not a number'),
    promptLength: int('promptLength'),
    headLength: int('headLength'),
    prefixLength: int('prefixLength'),
    files: Array.isArray(r.files) && r.files.every((f) => typeof f === 'string') ? (r.files as string[]) : fail('files is not a string array'),
    answerBlock: int('answerBlock'),
    evidenceTokens: pair('evidenceTokens'),
    headerTokens: pair('headerTokens'),
    followUps: Array.isArray(r.followUps) ? (r.followUps as FollowUp[]) : fail('followUps is not an array'),
    followUpAnswerTokens: Array.isArray(r.followUpAnswerTokens)
      ? (r.followUpAnswerTokens as unknown[]).map((span) =>
          Array.isArray(span) && span.length === 2 && span.every((n) => Number.isInteger(n)) ? (span as [number, number]) : fail('followUpAnswerTokens holds a non-span'),
        )
      : fail('followUpAnswerTokens is not an array'),
    prompt,
    target: ints('target'),
  };
  if (prompt.length !== record.promptLength) fail(`prompt has ${prompt.length} tokens, promptLength says ${record.promptLength}`);
  if (!(record.headLength <= record.prefixLength && record.prefixLength < record.promptLength)) fail('head, prefix and prompt lengths disagree');
  return record;
}

/** Reads every record of one shard. */
export async function readShard(file: string): Promise<ExampleRecord[]> {
  const records: ExampleRecord[] = [];
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() !== '') records.push(parseExampleRecord(line, `${file}:${n}`));
  }
  return records;
}

/** Shards of a split in a data folder, in order: `<split>-00000.jsonl`, ... */
export function shardFiles(dir: string, split: Split): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => new RegExp(`^${split}-\\d{5}\\.jsonl$`).test(name))
    .sort()
    .map((name) => `${dir}/${name}`);
}

export async function readSplit(dir: string, split: Split): Promise<ExampleRecord[]> {
  const records: ExampleRecord[] = [];
  for (const file of shardFiles(dir, split)) records.push(...(await readShard(file)));
  return records;
}
