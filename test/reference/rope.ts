/**
 * Rotary position embedding, float64. Dimension pair i (0 <= i < headDim/2)
 * rotates by angle position * base^(-2i/headDim).
 *
 * Which two components form pair i is the trap: GGUF `llama` files pair
 * adjacent components (x[2i], x[2i+1]) because llama.cpp's converter permutes
 * the Q/K weights; `qwen2` files pair halves (x[i], x[i + headDim/2]).
 */

export type RopeLayout = 'adjacent' | 'halves';

export function ropeLayoutOf(arch: string): RopeLayout {
  if (arch === 'llama') return 'adjacent';
  if (arch === 'qwen2') return 'halves';
  throw new Error(`no RoPE layout known for architecture ${arch}`);
}

export class Rope {
  private readonly inverseFrequencies: Float64Array;

  constructor(private readonly headDim: number, base: number, private readonly layout: RopeLayout) {
    if (headDim % 2 !== 0) throw new Error(`RoPE needs an even head_dim, got ${headDim}`);
    this.inverseFrequencies = new Float64Array(headDim / 2);
    for (let i = 0; i < headDim / 2; i++) this.inverseFrequencies[i] = Math.pow(base, (-2 * i) / headDim);
  }

  /** Rotates `heads` consecutive head vectors of `vectors` in place. */
  apply(vectors: Float64Array, heads: number, position: number): void {
    const half = this.headDim / 2;
    for (let h = 0; h < heads; h++) {
      const base = h * this.headDim;
      for (let i = 0; i < half; i++) {
        const angle = position * this.inverseFrequencies[i];
        const cos = Math.cos(angle);
        const sin = Math.sin(angle);
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
