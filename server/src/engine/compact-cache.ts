// A SnapKV-compressed cache: private to one question, small, and able to say
// which prompt positions it kept.
import { nativeSync } from './errors';
import { KvCacheHandle } from './kv-cache';
import { NativeCompactCache } from './native-addon';

/** SnapKV's parameters (DESIGN.md section 3). */
export interface SnapKvOptions {
  /** The last prompt tokens whose attention chooses what to keep (default 32). */
  window?: number;
  /** Prompt entries kept per layer and head, window included (default 2048). */
  budget?: number;
  /** Width of the pooling over positions, odd (default 7). */
  kernel?: number;
  /** 'max' (default) or 'avg' pooling. */
  pooling?: 'max' | 'avg';
  /** 'mean' (default): one selection per KV head; 'repeat': one per query head, as the original code. */
  gqa?: 'mean' | 'repeat';
}

export interface KeptHead {
  /** Kept prompt positions, ascending; the window's are last. */
  positions: Int32Array;
  /** Pooled score of each kept position: Infinity for the window, NaN when the whole prompt fit the budget. */
  scores: Float32Array;
}

export class CompactCache extends KvCacheHandle<NativeCompactCache> {
  /** @internal use PrefixCache.query or Model.compressOneShot */
  constructor(native: NativeCompactCache, vocab: number) {
    super(native, vocab);
  }

  /** Length of the prompt (prefix and question) this cache was compressed from. */
  get promptLength(): number {
    return nativeSync(() => this.native.promptLength());
  }

  /** For every layer, for every cache head: the positions kept and their scores. */
  kept(): KeptHead[][] {
    return nativeSync(() => this.native.kept());
  }
}
