// The full KV cache of a prompt prefix (the packed repository): grown by
// prefill and extend, cut by truncate, kept on disk by save, and asked
// questions by query.
import { linkCancellation } from './cancellation';
import { CompactCache, SnapKvOptions } from './compact-cache';
import { EngineError, nativeCall, nativeSync } from './errors';
import { KvCacheHandle } from './kv-cache';
import { NativeCompressOptions, NativeLogitsMode, NativePrefixCache } from './native-addon';
import { progressReporter, ProgressListener } from './progress';
import { toInt32Tokens, TokenIds } from './tokens';

export interface ForwardOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Which logits to return: the last token's (default), every token's, or none. */
  logits?: NativeLogitsMode;
  /** Tokens per batched step (default 256): smaller reports progress more often. */
  chunkTokens?: number;
}

export interface QueryOptions extends SnapKvOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** Room in the compact cache for generated tokens (default 1024). */
  reserveTokens?: number;
  chunkTokens?: number;
}

export class PrefixCache extends KvCacheHandle<NativePrefixCache> {
  /** @internal use Model.prefill or Model.loadPrefix */
  constructor(
    native: NativePrefixCache,
    vocab: number,
    /** Logits returned by the prefill that made this cache. */
    readonly logits: Float32Array | null,
  ) {
    super(native, vocab);
  }

  get length(): number {
    return this.stats().tokens;
  }

  /** The token ids the cache holds, in order. */
  tokens(): Int32Array {
    return nativeSync(() => this.native.tokens());
  }

  /** Appends tokens to the cache; returns the logits asked for. */
  async extend(tokens: TokenIds, options: ForwardOptions = {}): Promise<Float32Array | null> {
    const ids = toInt32Tokens(tokens, this.vocab);
    const cancellation = linkCancellation(options.signal);
    try {
      return await nativeCall(() =>
        this.native.extend(
          ids,
          { logits: options.logits ?? 'last', chunkTokens: options.chunkTokens },
          cancellation.flag,
          progressReporter(options.onProgress),
        ),
      );
    } finally {
      cancellation.release();
    }
  }

  /** Cuts the cache back to its first `length` tokens (where a changed file begins). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0) {
      throw new EngineError('INVALID_ARGUMENT', `truncate needs a whole number of tokens, not ${length}`);
    }
    nativeSync(() => this.native.truncate(length));
  }

  /** Writes the cache to a file (atomically), for Model.loadPrefix in a later session. */
  async save(path: string): Promise<void> {
    await nativeCall(() => this.native.save(path));
  }

  /**
   * Asks a question: the suffix is prefilled against this prefix, which is
   * only read (other questions may run at the same time), and the whole
   * prompt is compressed with SnapKV into a new CompactCache.
   */
  async query(suffix: TokenIds, options: QueryOptions = {}): Promise<CompactCache> {
    const ids = toInt32Tokens(suffix, this.vocab);
    const cancellation = linkCancellation(options.signal);
    try {
      const native = await nativeCall(() =>
        this.native.query(ids, compressOptions(options), cancellation.flag, progressReporter(options.onProgress)),
      );
      return new CompactCache(native, this.vocab);
    } finally {
      cancellation.release();
    }
  }
}

/** The native form of SnapKV and compression options. */
export function compressOptions(options: QueryOptions): NativeCompressOptions {
  return {
    window: options.window,
    budget: options.budget,
    kernel: options.kernel,
    pooling: options.pooling,
    gqa: options.gqa,
    reserveTokens: options.reserveTokens,
    chunkTokens: options.chunkTokens,
  };
}
