// The full KV cache of a prompt prefix, grown by prefill and extend, and
// continued by generate.
import { linkCancellation } from './cancellation';
import { nativeCall, nativeSync } from './errors';
import { generateTokens, GenerateOptions } from './generation';
import { NativeLogitsMode, NativeSequence } from './native-addon';
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

export interface CacheStats {
  tokens: number;
  /** RoPE position the next token takes. */
  nextPosition: number;
  capacity: number;
  /** Bytes of keys and values now held (f32). */
  usedBytes: number;
  /** Bytes reserved for the full capacity; pages are committed as the cache fills. */
  capacityBytes: number;
}

export class PrefixCache {
  /** @internal use Model.prefill */
  constructor(
    private readonly sequence: NativeSequence,
    private readonly vocab: number,
    /** Logits returned by the prefill that made this cache. */
    readonly logits: Float32Array | null,
  ) {}

  get length(): number {
    return this.stats().tokens;
  }

  /** Appends tokens to the cache; returns the logits asked for. */
  async extend(tokens: TokenIds, options: ForwardOptions = {}): Promise<Float32Array | null> {
    const ids = toInt32Tokens(tokens, this.vocab);
    const cancellation = linkCancellation(options.signal);
    try {
      return await nativeCall(() =>
        this.sequence.forward(
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

  /** Streams tokens continuing the cached text; generated tokens join the cache. */
  generate(options: GenerateOptions = {}): AsyncGenerator<number, void, undefined> {
    return generateTokens(this.sequence, options);
  }

  /** The logits after the last token in the cache. */
  lastLogits(): Float32Array | null {
    return nativeSync(() => this.sequence.lastLogits());
  }

  stats(): CacheStats {
    const { tokens, nextPosition, capacity, usedBytes, capacityBytes } = nativeSync(() => this.sequence.stats());
    return { tokens, nextPosition, capacity, usedBytes, capacityBytes };
  }

  /** Frees the cache's memory now rather than at garbage collection. */
  dispose(): void {
    this.sequence.dispose();
  }
}
