/**
 * Rotary position embedding, float64. Dimension pair i (0 <= i < headDim/2)
 * rotates by angle position * base^(-2i/headDim), before any scaling.
 *
 * Which two components form pair i is the trap: GGUF `llama` files pair
 * adjacent components (x[2i], x[2i+1]) because llama.cpp's converter permutes
 * the Q/K weights; `qwen2` and `qwen3` files pair halves (x[i], x[i + headDim/2]).
 *
 * Scaling, written from the YaRN paper (Peng et al. 2023, "YaRN: Efficient
 * Context Window Extension of Large Language Models") and Llama 3.1's
 * published rope factors, not from any engine:
 * - frequency factors (Llama 3.1/3.2's rope_freqs.weight): the inverse frequency of pair i is divided by f[i];
 * - linear ("position interpolation"): positions are divided by the scale s;
 * - YaRN ("NTK-by-parts" + temperature): with wavelength_i = 2 pi / invFreq_i and
 *   r_i = trainedContext / wavelength_i (rotations over the trained context), a pair with
 *   r_i above betaFast keeps its frequency, one below betaSlow is interpolated (divided by s),
 *   and between the two the inverse frequency blends linearly in the pair index, between the
 *   indices where r crosses betaFast and betaSlow (floored / ceiled, clamped to [0, headDim-1]).
 *   Rotated q and k are both multiplied by sqrt(1/t) = attnFactor * (0.1 ln s + 1).
 */

export type RopeLayout = 'adjacent' | 'halves';

export function ropeLayoutOf(arch: string): RopeLayout {
  if (arch === 'llama') return 'adjacent';
  if (arch === 'qwen2' || arch === 'qwen3') return 'halves';
  throw new Error(`no RoPE layout known for architecture ${arch}`);
}

export interface RopeScaling64 {
  readonly type: 'none' | 'linear' | 'yarn';
  readonly factor: number;
  /** YaRN: the context the model was trained for. */
  readonly originalContext?: number;
  readonly attnFactor?: number;
  readonly betaFast?: number;
  readonly betaSlow?: number;
}

export class Rope {
  private readonly inverseFrequencies: Float64Array;
  private readonly magnitude: number;

  constructor(
    private readonly headDim: number,
    base: number,
    private readonly layout: RopeLayout,
    scaling: RopeScaling64 = { type: 'none', factor: 1 },
    freqFactors?: ArrayLike<number>,
  ) {
    if (headDim % 2 !== 0) throw new Error(`RoPE needs an even head_dim, got ${headDim}`);
    const pairs = headDim / 2;
    if (freqFactors !== undefined && freqFactors.length !== pairs) throw new Error(`${freqFactors.length} rope factors for ${pairs} pairs`);
    this.inverseFrequencies = new Float64Array(pairs);
    for (let i = 0; i < pairs; i++) {
      this.inverseFrequencies[i] = Math.pow(base, (-2 * i) / headDim) / (freqFactors?.[i] ?? 1);
    }
    this.magnitude = 1;
    if (scaling.type === 'linear') {
      for (let i = 0; i < pairs; i++) this.inverseFrequencies[i] /= scaling.factor;
    } else if (scaling.type === 'yarn') {
      const s = scaling.factor;
      const trained = scaling.originalContext;
      if (trained === undefined) throw new Error('YaRN needs the original context length');
      // Index (fractional) of the pair that makes `rotations` full turns over the trained context,
      // for the unscaled frequencies base^(-2i/d): trained * base^(-2i/d) / (2 pi) = rotations.
      const indexFor = (rotations: number): number => (headDim * Math.log(trained / (2 * Math.PI * rotations))) / (2 * Math.log(base));
      const first = Math.max(0, Math.floor(indexFor(scaling.betaFast ?? 32)));
      const last = Math.min(headDim - 1, Math.ceil(indexFor(scaling.betaSlow ?? 1)));
      const span = last === first ? 0.001 : last - first;
      for (let i = 0; i < pairs; i++) {
        const interpolated = Math.min(1, Math.max(0, (i - first) / span)); // 0: keep, 1: divide by s
        const f = this.inverseFrequencies[i];
        this.inverseFrequencies[i] = f * (1 - interpolated) + (f / s) * interpolated;
      }
      this.magnitude = (scaling.attnFactor ?? 1) * (0.1 * Math.log(s) + 1);
    }
  }

  /** Rotates `heads` consecutive head vectors of `vectors` in place. */
  apply(vectors: Float64Array, heads: number, position: number): void {
    const half = this.headDim / 2;
    for (let h = 0; h < heads; h++) {
      const base = h * this.headDim;
      for (let i = 0; i < half; i++) {
        const angle = position * this.inverseFrequencies[i];
        const cos = Math.cos(angle) * this.magnitude;
        const sin = Math.sin(angle) * this.magnitude;
        const a = this.layout === 'adjacent' ? base + 2 * i : base + i;
        const b = this.layout === 'adjacent' ? a + 1 : a + half;
        const x0 = vectors[a];
        const x1 = vectors[b];
        vectors[a] = x0 * cos - x1 * sin;
        vectors[b] = x0 * sin + x1 * cos;
      }
    }
  }
}
