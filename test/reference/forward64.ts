/**
 * Independent float64 forward pass of llama / qwen2 / qwen3 decoder models,
 * written from the math (not from the engine) to prove the engine's logits.
 *
 *   x = token_embd[token]
 *   per layer: h = RMSNorm(x) * attn_norm
 *              q, k, v = Wq h (+bq), Wk h (+bk), Wv h (+bv)      (biases: qwen2; llama when the file has them)
 *              qwen3: every head of q and k RMS-normalised on its own, times attn_q_norm / attn_k_norm
 *              RoPE(q), RoPE(k) at the absolute position (scaled as rope.ts says; rope_freqs.weight divides frequencies)
 *              attention: causal, GQA (query head h reads kv head h / (heads / kvHeads)),
 *                         scores q.k / sqrt(headDim), softmax in float64
 *              x += Wo attn (+bo)
 *              h = RMSNorm(x) * ffn_norm;  x += Wdown (silu(Wgate h) * Wup h)
 *   logits = (output.weight, or token_embd.weight when tied) RMSNorm(x) * output_norm
 *
 * Tokens are processed one at a time against a KV cache, so prefill and decode
 * share one code path and a test can stream every position's logits without
 * holding them all.
 */
import { KvHeadCache64 } from './kv-cache64';
import { Rope, RopeLayout, RopeScaling64, ropeLayoutOf } from './rope';
import { addInPlace, matVec, rmsNorm, silu, softmaxInPlace } from './vector-math';

export type { RopeLayout, RopeScaling64 } from './rope';

export interface ForwardConfig {
  readonly arch: string;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly ffn: number;
  readonly vocab: number;
  readonly ropeBase: number;
  readonly rmsEps: number;
  readonly tied: boolean;
  /** RoPE scaling (default none). */
  readonly ropeScaling?: RopeScaling64;
}

/** Float64 values by GGUF tensor name, row-major as in the file (dims [ne0, ne1] = ne1 rows of ne0). */
export type ForwardWeights = ReadonlyMap<string, Float64Array>;

export interface ForwardOptions {
  /** Default: the arch's layout. Set the other one to show what a mix-up does. */
  readonly ropeLayout?: RopeLayout;
  /** Sees each layer's queries after RoPE (heads x headDim, a copy the caller may keep), e.g. for SnapKV. */
  readonly onQueries?: (layer: number, position: number, queries: Float64Array) => void;
}

export type LogitsCallback = (position: number, logits: Float64Array) => void;

interface LayerWeights {
  attnNorm: Float64Array;
  wq: Float64Array;
  wk: Float64Array;
  wv: Float64Array;
  bq?: Float64Array;
  bk?: Float64Array;
  bv?: Float64Array;
  bo?: Float64Array;
  qNorm?: Float64Array;
  kNorm?: Float64Array;
  wo: Float64Array;
  ffnNorm: Float64Array;
  gate: Float64Array;
  up: Float64Array;
  down: Float64Array;
}

export class ReferenceForward {
  readonly ropeLayout: RopeLayout;
  private readonly rope: Rope;
  private readonly embedding: Float64Array;
  private readonly outputNorm: Float64Array;
  private readonly output: Float64Array;
  private readonly layerWeights: LayerWeights[];
  private caches: KvHeadCache64[][];
  private nextPosition = 0;

  // Scratch, reused every token.
  private readonly x: Float64Array;
  private readonly normed: Float64Array;
  private readonly q: Float64Array;
  private readonly k: Float64Array;
  private readonly v: Float64Array;
  private readonly attention: Float64Array;
  private readonly projected: Float64Array;
  private readonly gate: Float64Array;
  private readonly up: Float64Array;
  private scores: Float64Array;

  constructor(
    private readonly config: ForwardConfig,
    weights: ForwardWeights,
    private readonly options: ForwardOptions = {},
  ) {
    const { hidden, heads, kvHeads, headDim, ffn, vocab } = config;
    if (heads % kvHeads !== 0) throw new Error(`heads ${heads} is not a multiple of kvHeads ${kvHeads}`);
    this.ropeLayout = options.ropeLayout ?? ropeLayoutOf(config.arch);
    this.rope = new Rope(headDim, config.ropeBase, this.ropeLayout, config.ropeScaling, weights.get('rope_freqs.weight'));

    const tensor = (name: string, count: number): Float64Array => {
      const values = weights.get(name);
      if (values === undefined) throw new Error(`reference forward: missing tensor ${name}`);
      if (values.length !== count) throw new Error(`reference forward: ${name} has ${values.length} values, expected ${count}`);
      return values;
    };
    const qWidth = heads * headDim;
    const kvWidth = kvHeads * headDim;
    // qwen2 always has q/k/v biases; llama files may have any of q/k/v/o; qwen3 norms q and k per head.
    const bias = (name: string, count: number): Float64Array | undefined =>
      config.arch === 'qwen2' || (config.arch === 'llama' && weights.has(name)) ? tensor(name, count) : undefined;
    const qkNorm = config.arch === 'qwen3';
    this.embedding = tensor('token_embd.weight', vocab * hidden);
    this.outputNorm = tensor('output_norm.weight', hidden);
    this.output = config.tied ? this.embedding : tensor('output.weight', vocab * hidden);
    this.layerWeights = [];
    for (let l = 0; l < config.layers; l++) {
      const blk = `blk.${l}`;
      this.layerWeights.push({
        attnNorm: tensor(`${blk}.attn_norm.weight`, hidden),
        wq: tensor(`${blk}.attn_q.weight`, qWidth * hidden),
        wk: tensor(`${blk}.attn_k.weight`, kvWidth * hidden),
        wv: tensor(`${blk}.attn_v.weight`, kvWidth * hidden),
        bq: bias(`${blk}.attn_q.bias`, qWidth),
        bk: bias(`${blk}.attn_k.bias`, kvWidth),
        bv: bias(`${blk}.attn_v.bias`, kvWidth),
        bo: config.arch === 'llama' && weights.has(`${blk}.attn_output.bias`) ? tensor(`${blk}.attn_output.bias`, hidden) : undefined,
        qNorm: qkNorm ? tensor(`${blk}.attn_q_norm.weight`, headDim) : undefined,
        kNorm: qkNorm ? tensor(`${blk}.attn_k_norm.weight`, headDim) : undefined,
        wo: tensor(`${blk}.attn_output.weight`, hidden * qWidth),
        ffnNorm: tensor(`${blk}.ffn_norm.weight`, hidden),
        gate: tensor(`${blk}.ffn_gate.weight`, ffn * hidden),
        up: tensor(`${blk}.ffn_up.weight`, ffn * hidden),
        down: tensor(`${blk}.ffn_down.weight`, hidden * ffn),
      });
    }

    this.caches = this.emptyCaches();
    this.x = new Float64Array(hidden);
    this.normed = new Float64Array(hidden);
    this.q = new Float64Array(qWidth);
    this.k = new Float64Array(kvWidth);
    this.v = new Float64Array(kvWidth);
    this.attention = new Float64Array(qWidth);
    this.projected = new Float64Array(hidden);
    this.gate = new Float64Array(ffn);
    this.up = new Float64Array(ffn);
    this.scores = new Float64Array(64);
  }

  /** Absolute position the next token will take. */
  get position(): number {
    return this.nextPosition;
  }

  /**
   * Runs `tokens` from the current position on (a prefill, or more of one).
   * Returns the last token's logits. With `onLogits`, every position's logits
   * are computed and handed over as they come (each a fresh array).
   */
  forward(tokens: ArrayLike<number>, onLogits?: LogitsCallback): Float64Array {
    if (tokens.length === 0) throw new Error('reference forward: no tokens');
    let last: Float64Array | undefined;
    for (let i = 0; i < tokens.length; i++) {
      const position = this.nextPosition;
      const isLast = i === tokens.length - 1;
      const logits = this.advance(tokens[i], onLogits !== undefined || isLast);
      if (logits !== undefined) {
        onLogits?.(position, logits);
        if (isLast) last = logits;
      }
    }
    return last as Float64Array;
  }

  /** One decode step: the token at the next position, and its logits. */
  step(token: number): Float64Array {
    return this.forward([token]);
  }

  /** A copy of one cache head: keys (after RoPE) and values as entries x headDim, with each entry's position. */
  cacheHead(layer: number, kvHead: number): { keys: Float64Array; values: Float64Array; positions: number[] } {
    return this.caches[layer][kvHead].snapshot();
  }

  /**
   * Drops cache entries, as a compressed cache does: each (layer, kv head)
   * keeps the positions `keep` lists. Generation continues at the same next
   * position; kept entries keep their original RoPE.
   */
  compact(keep: (layer: number, kvHead: number) => readonly number[]): void {
    this.caches.forEach((heads, layer) => heads.forEach((cache, kvHead) => cache.retainPositions(keep(layer, kvHead))));
  }

  /** Empties the cache: the next token is position 0 again. */
  reset(): void {
    this.caches = this.emptyCaches();
    this.nextPosition = 0;
  }

  private emptyCaches(): KvHeadCache64[][] {
    return Array.from({ length: this.config.layers }, () =>
      Array.from({ length: this.config.kvHeads }, () => new KvHeadCache64(this.config.headDim)),
    );
  }

  private advance(token: number, wantLogits: boolean): Float64Array | undefined {
    const { hidden, vocab, rmsEps } = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= vocab) throw new Error(`token ${token} outside the vocabulary of ${vocab}`);
    const position = this.nextPosition;
    this.x.set(this.embedding.subarray(token * hidden, (token + 1) * hidden));
    for (let l = 0; l < this.config.layers; l++) this.layer(l, position);
    this.nextPosition++;
    if (!wantLogits) return undefined;
    rmsNorm(this.x, this.outputNorm, rmsEps, this.normed);
    const logits = new Float64Array(vocab);
    matVec(this.output, vocab, hidden, this.normed, logits);
    return logits;
  }

  private layer(l: number, position: number): void {
    const { hidden, heads, kvHeads, headDim, ffn, rmsEps } = this.config;
    const w = this.layerWeights[l];
    const qWidth = heads * headDim;
    const kvWidth = kvHeads * headDim;

    rmsNorm(this.x, w.attnNorm, rmsEps, this.normed);
    matVec(w.wq, qWidth, hidden, this.normed, this.q);
    matVec(w.wk, kvWidth, hidden, this.normed, this.k);
    matVec(w.wv, kvWidth, hidden, this.normed, this.v);
    if (w.bq) addInPlace(this.q, w.bq);
    if (w.bk) addInPlace(this.k, w.bk);
    if (w.bv) addInPlace(this.v, w.bv);
    if (w.qNorm) this.normEachHead(this.q, heads, w.qNorm);
    if (w.kNorm) this.normEachHead(this.k, kvHeads, w.kNorm);
    this.rope.apply(this.q, heads, position);
    this.rope.apply(this.k, kvHeads, position);
    this.options.onQueries?.(l, position, this.q.slice());

    const caches = this.caches[l];
    for (let g = 0; g < kvHeads; g++) caches[g].append(position, this.k, this.v, g * headDim);
    this.attend(caches);

    matVec(w.wo, hidden, qWidth, this.attention, this.projected);
    if (w.bo) addInPlace(this.projected, w.bo);
    addInPlace(this.x, this.projected);

    rmsNorm(this.x, w.ffnNorm, rmsEps, this.normed);
    matVec(w.gate, ffn, hidden, this.normed, this.gate);
    matVec(w.up, ffn, hidden, this.normed, this.up);
    for (let i = 0; i < ffn; i++) this.gate[i] = silu(this.gate[i]) * this.up[i];
    matVec(w.down, hidden, ffn, this.gate, this.projected);
    addInPlace(this.x, this.projected);
  }

  /** Each headDim slice of `vectors` becomes RMSNorm(slice) * weight. */
  private normEachHead(vectors: Float64Array, heads: number, weight: Float64Array): void {
    const { headDim, rmsEps } = this.config;
    const head = new Float64Array(headDim);
    for (let h = 0; h < heads; h++) {
      rmsNorm(vectors.subarray(h * headDim, (h + 1) * headDim), weight, rmsEps, head);
      vectors.set(head, h * headDim);
    }
  }

  /** this.attention = per query head, softmax(q . k / sqrt(headDim)) weighted values of its kv head. */
  private attend(caches: readonly KvHeadCache64[]): void {
    const { heads, kvHeads, headDim } = this.config;
    const group = heads / kvHeads;
    const scale = 1 / Math.sqrt(headDim);
    this.attention.fill(0);
    for (let h = 0; h < heads; h++) {
      const cache = caches[Math.floor(h / group)];
      const entries = cache.length;
      if (this.scores.length < entries) this.scores = new Float64Array(entries * 2);
      const keys = cache.keys;
      const values = cache.values;
      const qBase = h * headDim;
      // Every cached entry is at or before this position, so the cache is the causal window.
      for (let e = 0; e < entries; e++) {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += this.q[qBase + d] * keys[e * headDim + d];
        this.scores[e] = dot * scale;
      }
      softmaxInPlace(this.scores, entries);
      for (let e = 0; e < entries; e++) {
        const p = this.scores[e];
        for (let d = 0; d < headDim; d++) this.attention[qBase + d] += p * values[e * headDim + d];
      }
    }
  }
}
