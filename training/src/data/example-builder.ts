// One synthetic repository and its question, laid out exactly as the language server lays
// out a prompt: the chat head (buildPrefixHead), the files as blocks each tokenized on its own
// (buildPackedBlock), then the question suffix (buildSuffix of questionText). The answer's
// file is placed at a random depth among distractor files drawn from the same split, none of
// which could also answer the question.
import { buildPrefixHead, buildSuffix, PrefixHead } from '../../../server/src/session/prompt';
import { questionText } from '../../../server/src/session/question-text';
import type { PackedBlock } from '../../../server/src/workspace/pack-types';
import { SeededRandom, deriveSeed } from '../../../test/fixtures/seeded-random';
import { DemoText } from '../vocab/demo-text';
import { BlockCache, lineTokenSpan } from './block-cache';
import { CodeFact, conflictsWith, FactKind } from './code-facts';
import { ExampleRecord } from './example-record';
import { drawFollowUps, followUpAnswerSpans, historyTurns } from './follow-ups';
import { askAbout } from './questions';
import { factsOfKind, PooledFile, SplitPool } from './split-pool';

export interface BuildOptions {
  /** Earlier question-answer turns before the final question: 0 to this many, drawn per example (default 0). */
  readonly followUps?: number;
}

export interface LengthRange {
  /** Shortest prompt, in tokens (head, files and question). */
  readonly minTokens: number;
  /** Longest prompt; each example draws its target length log-uniformly in [min, max]. */
  readonly maxTokens: number;
}

const KINDS: readonly FactKind[] = ['function-file', 'constant-value', 'import-file'];
/** Distractor draws without progress before a repository counts as full. */
const MAX_FAILED_DRAWS = 400;
/** Suffix tokens set aside for each earlier turn while the repository is filled. */
const FOLLOW_UP_RESERVE_TOKENS = 72;
/** A repository this close to its target length is full. */
const FULL_SLACK_TOKENS = 24;
const MAX_ATTEMPTS = 50;
/** Longer answers (deep paths) are skipped: evaluation generates at most 48 tokens. */
export const MAX_ANSWER_TOKENS = 40;

export class ExampleBuilder {
  private readonly head: PrefixHead;
  private readonly blocks: BlockCache;

  constructor(
    private readonly text: DemoText,
    private readonly pool: SplitPool,
    blocks?: BlockCache,
  ) {
    this.head = buildPrefixHead(text.tokenizer, text.template);
    this.blocks = blocks ?? new BlockCache(text.tokenizer);
  }

  /** Example `index` of `seed`: depends on nothing else, so shards can be made in any order. */
  build(seed: number, index: number, range: LengthRange, options: BuildOptions = {}): ExampleRecord {
    checkRange(range);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const random = new SeededRandom(deriveSeed(seed, `${this.pool.split}:${index}:${attempt}`));
      const record = this.tryBuild(random, seed, index, range, options.followUps ?? 0);
      if (record !== undefined) return record;
    }
    throw new Error(`no example of ${range.minTokens}..${range.maxTokens} tokens after ${MAX_ATTEMPTS} attempts (seed ${seed}, index ${index})`);
  }

  private tryBuild(random: SeededRandom, seed: number, index: number, range: LengthRange, maxFollowUps: number): ExampleRecord | undefined {
    // Drawn only when asked for, so examples without follow-ups stay what they always were.
    const followUpCount = maxFollowUps > 0 ? random.integer(0, maxFollowUps + 1) : 0;
    const targetLength = Math.round(Math.exp(random.uniform() * Math.log(range.maxTokens / range.minTokens)) * range.minTokens);
    const kind = KINDS[random.integer(0, KINDS.length)];
    const candidates = this.pool.byKind[kind];
    const answerFile = this.pool.files[candidates[random.integer(0, candidates.length)]];
    const facts = factsOfKind(answerFile, kind);
    const fact = facts[random.integer(0, facts.length)];
    const question = askAbout(fact, answerFile.file.path, random);
    const { tokenizer, template } = this.text;
    const answerTokens = [...tokenizer.encode(question.answer), this.text.vocab.eosTokenId];
    if (answerTokens.length > MAX_ANSWER_TOKENS) return undefined;
    const singleSuffix = buildSuffix(tokenizer, template, [], questionText({ question: question.text }));
    const answerBlock = this.blocks.get(answerFile.file);

    let room = targetLength - this.head.tokens.length - singleSuffix.length - answerBlock.tokens.length - followUpCount * FOLLOW_UP_RESERVE_TOKENS;
    if (room < 0) return undefined;
    const distractors = this.drawDistractors(random, answerFile, fact, room);
    const repositoryTokens = [answerBlock, ...distractors.map((f) => this.blocks.get(f.file))].reduce((n, b) => n + b.tokens.length, 0);

    const followUps = drawFollowUps(random, [answerFile, ...distractors], fact, followUpCount);
    const suffix =
      followUps.length === 0 ? singleSuffix : buildSuffix(tokenizer, template, historyTurns(followUps), questionText({ question: question.text }));
    const promptLength = this.head.tokens.length + repositoryTokens + suffix.length;
    if (promptLength < range.minTokens || promptLength > range.maxTokens) return undefined;

    const blocks = placeAtDepth(random, distractors.map((f) => this.blocks.get(f.file)), answerBlock);
    const answerIndex = blocks.indexOf(answerBlock);
    const prompt: number[] = Array.from(this.head.tokens);
    let answerStart = -1;
    for (const block of blocks) {
      if (block === answerBlock) answerStart = prompt.length;
      for (const id of block.tokens) prompt.push(id);
    }
    const prefixLength = prompt.length;
    for (const id of suffix) prompt.push(id);

    const followUpAnswers = followUpAnswerSpans(tokenizer, template, followUps, question.text, suffix, prefixLength);
    const [lineStart, lineEnd] = lineTokenSpan(answerBlock, fact.line);
    const evidence: [number, number] = [answerStart + lineStart, answerStart + lineEnd];
    const headLength = this.head.tokens.length;
    return {
      id: `${this.pool.split}-${seed}-${index}`,
      split: this.pool.split,
      seed,
      index,
      kind,
      subject: fact.name,
      question: question.text,
      answer: question.answer,
      answerFile: answerFile.file.path,
      answerLines: [fact.line, fact.line],
      depth: round4((evidence[0] - headLength) / Math.max(1, prefixLength - headLength)),
      promptLength: prompt.length,
      headLength,
      prefixLength,
      files: blocks.map((b) => b.path),
      answerBlock: answerIndex,
      evidenceTokens: evidence,
      headerTokens: [answerStart, answerStart + answerBlock.contentStartToken],
      followUps,
      followUpAnswerTokens: followUpAnswers,
      prompt,
      target: answerTokens,
    };
  }

  /** Random files of the split that fit in `room` tokens and cannot answer the question. */
  private drawDistractors(random: SeededRandom, answerFile: PooledFile, fact: CodeFact, room: number): PooledFile[] {
    const chosen = new Set<PooledFile>([answerFile]);
    const picked: PooledFile[] = [];
    const files = this.pool.files;
    for (let failed = 0; room > FULL_SLACK_TOKENS && failed < MAX_FAILED_DRAWS; ) {
      const file = files[random.integer(0, files.length)];
      if (chosen.has(file) || conflictsWith(file.facts, fact)) {
        failed++;
        continue;
      }
      const block = this.blocks.get(file.file);
      if (block.tokens.length > room) {
        failed++;
        continue;
      }
      chosen.add(file);
      picked.push(file);
      room -= block.tokens.length;
    }
    return picked;
  }
}

/** Inserts the answer block at the block boundary nearest a uniformly drawn depth. */
function placeAtDepth(random: SeededRandom, distractors: readonly PackedBlock[], answer: PackedBlock): PackedBlock[] {
  const wanted = random.uniform();
  const total = distractors.reduce((sum, b) => sum + b.tokens.length, 0);
  let best = 0;
  let bestGap = Infinity;
  let before = 0;
  for (let i = 0; i <= distractors.length; i++) {
    const gap = Math.abs(before / Math.max(1, total) - wanted);
    if (gap < bestGap) {
      best = i;
      bestGap = gap;
    }
    if (i < distractors.length) before += distractors[i].tokens.length;
  }
  return [...distractors.slice(0, best), answer, ...distractors.slice(best)];
}

function checkRange(range: LengthRange): void {
  if (!Number.isInteger(range.minTokens) || !Number.isInteger(range.maxTokens) || range.minTokens < 64 || range.maxTokens < range.minTokens) {
    throw new Error(`bad length range ${range.minTokens}..${range.maxTokens}: need integers with 64 <= min <= max`);
  }
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
