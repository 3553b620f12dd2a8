// Streaming generation over a native sequence, cancellable between tokens and
// within a token's forward pass.
import { linkCancellation, throwIfAborted } from './cancellation';
import { nativeCall, nativeSync } from './errors';
import { NativeKvCache } from './native-addon';

export interface GenerateOptions {
  /** Most tokens to produce (default 256). */
  maxTokens?: number;
  /** 0 (the default) is greedy decoding. */
  temperature?: number;
  /** Sample only among the k most likely tokens; 0 is off. */
  topK?: number;
  /** Sample only within the smallest set of tokens whose probability reaches p; 1 is off. */
  topP?: number;
  /** Seed of the sampler, for repeatable runs (default 0). */
  seed?: number;
  /** Token ids that end the answer; they are not yielded. */
  stop?: readonly number[];
  signal?: AbortSignal;
}

export async function* generateTokens(sequence: NativeKvCache, options: GenerateOptions): AsyncGenerator<number, void, undefined> {
  throwIfAborted(options.signal);
  const stream = nativeSync(() =>
    sequence.generate({
      maxTokens: options.maxTokens ?? 256,
      temperature: options.temperature ?? 0,
      topK: options.topK ?? 0,
      topP: options.topP ?? 1,
      seed: options.seed ?? 0,
      stopTokens: Int32Array.from(options.stop ?? []),
    }),
  );
  const cancellation = linkCancellation(options.signal);
  try {
    for (;;) {
      const token = await nativeCall(() => stream.next(cancellation.flag));
      if (token === null) return;
      yield token;
      throwIfAborted(options.signal);
    }
  } finally {
    cancellation.release();
    // Puts the last yielded token into the cache and frees the sequence for
    // the next operation, however the loop ended.
    await nativeCall(() => stream.finish());
  }
}
