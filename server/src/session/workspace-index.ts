// One folder's packed repository and its prefix cache, kept up to date: the
// first index prefills (or reloads a saved cache), later ones cut the cache
// at the first block that changed and prefill only the tail. A repository
// whose cache does not fit is kept as tokens only, for one-shot questions
// (answer-mode.ts).
import { AbortError, PrefixCache } from '../engine';
import type { IndexResult } from '../protocol';
import { LineMap, packWorkspace } from '../workspace';
import type { PackedWorkspace } from '../workspace/pack-types';
import type { AnswerMode } from './answer-mode';
import type { LoadedModel } from './loaded-model';
import type { PrefixStore } from './prefix-store';
import { Debouncer } from './debouncer';
import type { QuestionScheduler } from './question-scheduler';
import { buildPrefixHead, PrefixHead, QUESTION_RESERVE_TOKENS } from './prompt';

/**
 * 'loading-model': the model file is read before anything can be tokenized (`note` names it).
 * 'one-shot': a question reading the whole repository, when no prefix cache fits.
 */
export type IndexPhase = 'loading-model' | 'listing' | 'prefilling' | 'saving' | 'one-shot';

export interface IndexProgress {
  phase: IndexPhase;
  filesDone: number;
  filesTotal: number;
  tokensDone: number;
  tokensTotal: number;
  tokensPerSecond: number;
  etaMs: number | undefined;
  /** Phase 'one-shot': why, and what it costs (answer-mode.ts); phase 'loading-model': the model file and its size. */
  note?: string;
}

export interface IndexOptions {
  maxContextTokens: number | undefined;
  include: string[];
  exclude: string[];
  includeSecrets: string[];
  force: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: IndexProgress) => void;
  /**
   * Prefix cache or one-shot for a repository of `tokens`, given the bytes of the prefix cache held now
   * (which the new one would replace); throws when neither fits. Absent: always a prefix cache.
   */
  chooseAnswerMode?: (tokens: number, heldPrefixBytes: number) => AnswerMode;
}

const PREFIX_CACHE_MODE: AnswerMode = { kind: 'prefix-cache', info: { mode: 'prefix-cache' } };

/** A consistent view of the index for one question: the cache and the map that explains its positions. */
export interface IndexSnapshot {
  /** Absent in one-shot mode: each question then runs `tokens` and itself through the model. */
  prefix: PrefixCache | undefined;
  /** The whole prefix: head then every block. */
  tokens: Int32Array;
  answerMode: AnswerMode;
  lineMap: LineMap;
  head: PrefixHead;
  packed: PackedWorkspace;
}

export interface PackedPrompt {
  head: PrefixHead;
  packed: PackedWorkspace;
  /** The whole prefix: head then every block. */
  tokens: Int32Array;
  lineMap: LineMap;
}

/** Quiet time after an incremental update before its cache is saved. */
const SAVE_QUIET_MS = 30_000;

const NO_PROGRESS: IndexProgress = { phase: 'listing', filesDone: 0, filesTotal: 0, tokensDone: 0, tokensTotal: 0, tokensPerSecond: 0, etaMs: undefined };

function commonPrefixLength(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function concatTokens(head: Int32Array, packed: PackedWorkspace): Int32Array {
  const all = new Int32Array(head.length + packed.totalTokens);
  all.set(head, 0);
  let offset = head.length;
  for (const block of packed.blocks) {
    all.set(block.tokens, offset);
    offset += block.tokens.length;
  }
  return all;
}

/** An update whose turn came after the index was let go (close): the session runs it on the index that replaced it. */
export class IndexClosedError extends Error {
  override name = 'IndexClosedError';
}

export class WorkspaceIndex {
  private prefix: PrefixCache | undefined;
  /** Let go by the session: updates that get their turn from now on are refused. */
  private closed = false;
  /** The date the prefix's head was rendered with: kept while the cache lives, so its tokens stay valid. */
  private cacheDay: Date | undefined;
  private snapshot: IndexSnapshot | undefined;
  private updating: Promise<IndexResult> | undefined;
  private readonly saver = new Debouncer(SAVE_QUIET_MS, () => {
    this.flushing = this.flushPending().finally(() => (this.flushing = undefined));
  });
  private flushing: Promise<void> | undefined;

  constructor(
    readonly folder: string,
    /** The model its prefix was computed with: questions on this index are answered with it. */
    readonly loaded: LoadedModel,
    private readonly store: PrefixStore,
    /** Where updates, saves and closes wait for the questions reading the prefix, and they for them. */
    private readonly scheduler: QuestionScheduler,
    private readonly log: (line: string) => void,
  ) {}

  get current(): IndexSnapshot | undefined {
    return this.snapshot;
  }

  get busy(): boolean {
    return this.updating !== undefined;
  }

  /** The largest packed repository: the context minus the head and room for a question and its answer. */
  repositoryBudget(maxContextTokens: number | undefined, headTokens: number): number {
    const context = this.loaded.model.info.contextLength;
    const limit = Math.min(maxContextTokens ?? context, context - QUESTION_RESERVE_TOKENS);
    return Math.max(0, limit - headTokens);
  }

  /** Runs one update at a time; a second call while one runs waits for it and then runs again. */
  async update(options: IndexOptions): Promise<IndexResult> {
    while (this.updating) {
      try {
        await this.updating;
      } catch {
        // the earlier update's failure is its caller's
      }
    }
    const run = this.runUpdate(options);
    this.updating = run;
    try {
      return await run;
    } finally {
      this.updating = undefined;
    }
  }

  /** Lists, filters and tokenizes the folder without touching the cache. */
  async pack(options: Omit<IndexOptions, 'force'>, today: Date | undefined = this.cacheDay): Promise<PackedPrompt> {
    const { tokenizer, template } = this.loaded;
    const head = buildPrefixHead(tokenizer, template, today);
    const packed = await packWorkspace(
      this.folder,
      tokenizer,
      {
        maxTokens: this.repositoryBudget(options.maxContextTokens, head.tokens.length),
        include: options.include,
        exclude: options.exclude,
        includeSecrets: options.includeSecrets,
      },
      options.signal,
      (p) => options.onProgress?.({ ...NO_PROGRESS, phase: 'listing', filesDone: p.filesDone, filesTotal: p.filesTotal, tokensTotal: p.tokens }),
    );
    return { head, packed, tokens: concatTokens(head.tokens, packed), lineMap: new LineMap(packed.blocks, head.tokens.length) };
  }

  private async runUpdate(options: IndexOptions): Promise<IndexResult> {
    const started = performance.now();
    const { signal, onProgress } = options;
    const { model } = this.loaded;
    const report = (progress: Partial<IndexProgress> & { phase: IndexPhase }): void => onProgress?.({ ...NO_PROGRESS, ...progress });
    // A cache kept or reloaded keeps the date its head was written with; only a fresh prefill takes today's.
    const today = options.force ? new Date() : this.prefix ? this.cacheDay : (this.store.savedDay(this.loaded.path) ?? new Date());
    const { head, packed, tokens: wanted, lineMap } = await this.pack(options, today);
    const filesTotal = packed.blocks.length;

    return this.scheduler.run({ kind: 'update', signal }, async () => {
      if (this.closed) throw new IndexClosedError(`the index of ${this.folder} was let go before this update's turn`);
      try {
        const mode = options.chooseAnswerMode?.(wanted.length, this.prefix?.stats().usedBytes ?? 0) ?? PREFIX_CACHE_MODE;
        if (mode.kind === 'one-shot') {
          // No prefix cache: the one held (of an older, smaller repository) goes, and nothing is saved.
          this.dispose();
          this.snapshot = { prefix: undefined, tokens: wanted, answerMode: mode, lineMap, head, packed };
          this.log(`${this.folder}: ${mode.info.note ?? 'answering one-shot'}`);
          return this.result(packed, wanted.length, 0, 'one-shot', started, mode);
        }
        let source: IndexResult['source'];
        if (options.force && this.prefix) {
          this.prefix.dispose();
          this.prefix = undefined;
          this.snapshot = undefined;
        }
        this.cacheDay = today;
        if (!this.prefix && !options.force) {
          const extra = Math.max(wanted.length + 1024, model.info.contextLength);
          this.prefix = await this.store.load(model, this.loaded.path, this.loaded.fileBytes, extra);
          if (this.prefix) this.log(`reloaded the saved prefix cache of ${this.prefix.length} tokens for ${this.folder}`);
          source = this.prefix ? 'saved-cache' : 'prefill';
        } else {
          source = this.prefix ? 'incremental' : 'prefill';
        }

        let cut = 0;
        if (this.prefix) {
          const common = commonPrefixLength(this.prefix.tokens(), wanted);
          // Cut where the block holding the first difference begins, so only whole blocks are prefilled again.
          const block = lineMap.blockIndexAt(common);
          cut = block < 0 ? common : lineMap.blockStartToken(block);
          const capacity = this.prefix.stats().capacity;
          if (wanted.length > capacity) {
            this.log(`the prefix cache holds ${capacity} tokens at most, the folder now needs ${wanted.length}: prefilling afresh`);
            this.prefix.dispose();
            this.prefix = undefined;
            cut = 0;
            source = 'prefill';
          }
        }
        if (this.prefix && cut === wanted.length && this.prefix.length === wanted.length) {
          if (source === 'incremental') source = 'unchanged';
          this.snapshot = { prefix: this.prefix, tokens: wanted, answerMode: mode, lineMap, head, packed };
          return this.result(packed, wanted.length, 0, source, started, mode);
        }

        const tail = wanted.subarray(cut);
        const progress = (p: { tokensDone: number; tokensTotal: number; tokensPerSecond: number; etaMs: number | undefined }): void =>
          report({ phase: 'prefilling', filesDone: filesTotal, filesTotal, tokensDone: cut + p.tokensDone, tokensTotal: wanted.length, tokensPerSecond: p.tokensPerSecond, etaMs: p.etaMs });
        // Counted by the engine, not by us: what really ran through the model.
        let forwarded: number;
        if (this.prefix) {
          this.prefix.truncate(cut);
          // Until the tail is in, the old map no longer describes the cache.
          this.snapshot = undefined;
          const before = this.prefix.stats().forwardedTokens;
          // Nothing to add when the newest files were deleted: the cut cache is the whole prefix.
          if (tail.length > 0) await this.prefix.extend(tail, { signal, onProgress: progress, logits: 'none' });
          forwarded = this.prefix.stats().forwardedTokens - before;
        } else {
          const capacity = Math.max(model.info.contextLength, wanted.length + 1024);
          this.prefix = await model.prefill(wanted, { signal, onProgress: progress, logits: 'none', capacity });
          forwarded = this.prefix.stats().forwardedTokens;
        }
        this.snapshot = { prefix: this.prefix, tokens: wanted, answerMode: mode, lineMap, head, packed };
        if (source === 'incremental') {
          // A save rewrites the whole cache (gigabytes for a large repository): after edits, wait for quiet.
          this.saver.trigger();
        } else {
          report({ phase: 'saving', filesDone: filesTotal, filesTotal, tokensDone: wanted.length, tokensTotal: wanted.length });
          await this.saveNow();
        }
        return this.result(packed, wanted.length, forwarded, source, started, mode);
      } catch (error) {
        if (error instanceof AbortError && this.prefix && this.snapshot === undefined) {
          // A cancelled extend leaves the cache at the cut; the next update resumes from there.
          this.log(`indexing cancelled with ${this.prefix.length} of ${wanted.length} tokens in the cache`);
        }
        throw error;
      }
    });
  }

  private result(packed: PackedWorkspace, tokens: number, prefilledTokens: number, source: IndexResult['source'], started: number, mode: AnswerMode): IndexResult {
    return {
      answerMode: mode.info,
      folder: this.folder,
      files: packed.blocks.length,
      tokens,
      prefilledTokens,
      source,
      leftOut: packed.leftOut,
      seconds: (performance.now() - started) / 1000,
    };
  }

  /** Writes the cache to the store now, unless it is already saved as it is. */
  private async saveNow(): Promise<void> {
    this.saver.cancel();
    const prefix = this.prefix;
    if (!prefix || this.snapshot === undefined) return;
    try {
      await this.store.save(prefix, this.folder, this.loaded.path, this.loaded.fileBytes, this.cacheDay ?? new Date());
    } catch (error) {
      this.log(`could not save the prefix cache: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Saves a cache whose save was deferred; called before the server or the tool exits. */
  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.saver.pending) await this.flushPending();
  }

  prefixBytes(): number {
    return this.prefix?.stats().usedBytes ?? 0;
  }

  private async flushPending(): Promise<void> {
    await this.scheduler.run({ kind: 'save' }, () => this.saveNow());
  }

  /**
   * Writes a pending save, waits until no question reads the prefix, then frees it: how the session lets go
   * of an index (another folder, new packing settings, another model, shutdown).
   */
  async close(signal?: AbortSignal): Promise<void> {
    // Set first: an update still listing files gets its turn after the close and must not prefill a let-go index.
    this.closed = true;
    await this.flush();
    await this.scheduler.run({ kind: 'close', signal }, async () => this.dispose());
  }

  dispose(): void {
    this.saver.cancel();
    this.prefix?.dispose();
    this.prefix = undefined;
    this.snapshot = undefined;
  }
}
