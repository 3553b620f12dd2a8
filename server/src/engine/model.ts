// A loaded GGUF model: its description and the prefill that starts a cache.
import { linkCancellation } from './cancellation';
import { EngineError, nativeCall, nativeSync } from './errors';
import { MetadataValue, NativeModel, NativeModelInfo, NativeOneShotPlan } from './native-addon';
import { CompactCache } from './compact-cache';
import { compressOptions, ForwardOptions, PrefixCache, QueryOptions } from './prefix-cache';
import { progressReporter } from './progress';
import { toInt32Tokens, TokenIds } from './tokens';

export type BackendName = 'cpu' | 'cuda';

export interface ModelInfo extends Omit<NativeModelInfo, 'backend'> {
  backend: BackendName;
  /** Why this backend was taken, in words for a status line. */
  backendReason: string;
}

export interface PrefillOptions extends ForwardOptions {
  /**
   * Tokens the cache can hold in all (default: the model's context length, or
   * the prompt plus 1024 when the prompt is longer). Memory is committed as the
   * cache fills, not up front.
   */
  capacity?: number;
}

export class Model {
  readonly info: ModelInfo;

  /** @internal use Engine.load */
  constructor(
    private readonly native: NativeModel,
    backendReason: string,
  ) {
    this.info = { ...nativeSync(() => native.info()), backendReason };
  }

  /** One GGUF metadata value, or all of them (tokenizer arrays included). */
  metadata(key: string): MetadataValue | undefined;
  metadata(): Record<string, MetadataValue>;
  metadata(key?: string): MetadataValue | Record<string, MetadataValue> | undefined {
    return nativeSync(() => (key === undefined ? this.native.metadata() : this.native.metadata(key)));
  }

  /** Runs the prompt through the model into a new PrefixCache. */
  async prefill(tokens: TokenIds, options: PrefillOptions = {}): Promise<PrefixCache> {
    const ids = toInt32Tokens(tokens, this.info.vocab);
    const capacity = options.capacity ?? Math.max(this.info.contextLength, ids.length + 1024);
    if (capacity < ids.length) {
      throw new EngineError('INVALID_ARGUMENT', `capacity ${capacity} is smaller than the prompt of ${ids.length} tokens`);
    }
    const native = await nativeCall(() => this.native.createPrefix({ capacity }));
    const cancellation = linkCancellation(options.signal);
    try {
      const logits = await nativeCall(() =>
        native.extend(
          ids,
          { logits: options.logits ?? 'last', chunkTokens: options.chunkTokens },
          cancellation.flag,
          progressReporter(options.onProgress),
        ),
      );
      return new PrefixCache(native, this.info.vocab, logits);
    } catch (error) {
      native.dispose();
      throw error;
    } finally {
      cancellation.release();
    }
  }

  /**
   * Reads a cache saved by PrefixCache.save. Refused (INVALID_FILE) when it
   * belongs to another model or cache format version.
   */
  async loadPrefix(path: string, options: { extraCapacity?: number } = {}): Promise<PrefixCache> {
    const native = await nativeCall(() => this.native.loadPrefix(path, { extraCapacity: options.extraCapacity ?? 4096 }));
    return new PrefixCache(native, this.info.vocab, native.lastLogits());
  }

  /**
   * One-shot mode: the whole prompt (context and question) runs layer by
   * layer and each layer is compressed as soon as it is done, so only one
   * layer's full KV cache exists at a time. For prompts whose full cache does
   * not fit; it serves one question.
   */
  async compressOneShot(tokens: TokenIds, options: QueryOptions = {}): Promise<CompactCache> {
    const ids = toInt32Tokens(tokens, this.info.vocab);
    const cancellation = linkCancellation(options.signal);
    try {
      const native = await nativeCall(() =>
        this.native.compressOneShot(ids, compressOptions(options), cancellation.flag, progressReporter(options.onProgress)),
      );
      return new CompactCache(native, this.info.vocab);
    } finally {
      cancellation.release();
    }
  }

  /**
   * What compressOneShot of a prompt of `length` tokens would need in the
   * memory its backend computes in (GPU memory, or host memory on the CPU),
   * what is free for it, and the longest prompt that fits, without running it.
   * Null only from a backend that cannot say.
   */
  planOneShot(length: number, options: Omit<QueryOptions, 'signal' | 'onProgress'> = {}): NativeOneShotPlan | null {
    return nativeSync(() => this.native.planOneShot(length, compressOptions(options)));
  }

  /** With the CUDA backend: the GPU and the engine's use of its memory now; null on the CPU. */
  gpuMemory(): { name: string; inUse: number; budget: number; weightBytes: number } | null {
    if (this.native.disposed || this.info.backend !== 'cuda') return null;
    const info = nativeSync(() => this.native.info());
    if (info.backend !== 'cuda' || info.deviceName === undefined) return null;
    return {
      name: info.deviceName,
      inUse: info.deviceMemoryInUse ?? 0,
      budget: info.deviceMemoryBudget ?? 0,
      weightBytes: info.deviceWeightBytes ?? 0,
    };
  }

  get disposed(): boolean {
    return this.native.disposed;
  }

  /**
   * Releases the model. Its memory is freed once caches made from it are
   * disposed too and work already started has finished.
   */
  dispose(): void {
    this.native.dispose();
  }
}
