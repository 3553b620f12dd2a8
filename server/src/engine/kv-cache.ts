// What every cache handle offers: generation, logits, statistics, dispose.
import { nativeSync } from './errors';
import { generateTokens, GenerateOptions } from './generation';
import { NativeKvCache } from './native-addon';

export interface CacheStats {
  tokens: number;
  /** RoPE position the next token takes. */
  nextPosition: number;
  capacity: number;
  /** Bytes of keys and values now held (f32 on the CPU, bf16 on a GPU). */
  usedBytes: number;
  /** Bytes reserved for the full capacity; on the CPU, pages are committed as the cache fills. */
  capacityBytes: number;
  /** Where the keys and values are: CPU memory, GPU memory, or pinned host memory streamed to the GPU. */
  placement: 'host' | 'device' | 'pinned-host';
  /** Bytes reserved in GPU memory and in host memory. */
  deviceBytes: number;
  hostBytes: number;
  /** Heads per layer: the model's KV heads, or its query heads for gqa 'repeat'. */
  cacheHeads: number;
  /** Tokens run through the model onto this cache since it was made or loaded (generation included). */
  forwardedTokens: number;
}

export abstract class KvCacheHandle<Native extends NativeKvCache = NativeKvCache> {
  /** @internal */
  protected constructor(
    /** @internal */
    readonly native: Native,
    protected readonly vocab: number,
  ) {}

  /** Streams tokens continuing the cached text; generated tokens join the cache. */
  generate(options: GenerateOptions = {}): AsyncGenerator<number, void, undefined> {
    return generateTokens(this.native, options);
  }

  /** The logits after the last token in the cache (null after a truncation). */
  lastLogits(): Float32Array | null {
    return nativeSync(() => this.native.lastLogits());
  }

  stats(): CacheStats {
    const s = nativeSync(() => this.native.stats());
    return {
      tokens: s.tokens,
      nextPosition: s.nextPosition,
      capacity: s.capacity,
      usedBytes: s.usedBytes,
      capacityBytes: s.capacityBytes,
      placement: s.placement,
      deviceBytes: s.deviceBytes,
      hostBytes: s.hostBytes,
      cacheHeads: s.cacheHeads,
      forwardedTokens: s.forwardedTokens,
    };
  }

  /** Frees the cache's memory now rather than at garbage collection. */
  dispose(): void {
    this.native.dispose();
  }
}
