/**
 * One KV head's cache in the reference: keys (RoPE applied) and values, each
 * entry tagged with its absolute position, so a compressed (SnapKV) cache keeps
 * the original positions of what it keeps.
 */
export class KvHeadCache64 {
  private keyData: Float64Array;
  private valueData: Float64Array;
  private positionData: Int32Array;
  private count = 0;

  constructor(private readonly headDim: number, initialCapacity = 64) {
    this.keyData = new Float64Array(initialCapacity * headDim);
    this.valueData = new Float64Array(initialCapacity * headDim);
    this.positionData = new Int32Array(initialCapacity);
  }

  get length(): number {
    return this.count;
  }

  /** Raw storage; entry e occupies [e * headDim, (e + 1) * headDim). Valid until the next append. */
  get keys(): Float64Array {
    return this.keyData;
  }
  get values(): Float64Array {
    return this.valueData;
  }

  positionAt(entry: number): number {
    return this.positionData[entry];
  }

  /** Appends head vectors read from `key`/`value` at `offset`. */
  append(position: number, key: Float64Array, value: Float64Array, offset: number): void {
    if (this.count === this.positionData.length) this.grow();
    const at = this.count * this.headDim;
    this.keyData.set(key.subarray(offset, offset + this.headDim), at);
    this.valueData.set(value.subarray(offset, offset + this.headDim), at);
    this.positionData[this.count] = position;
    this.count++;
  }

  /** Keeps only the entries whose positions are listed (ascending order of the cache is preserved). */
  retainPositions(positions: readonly number[]): void {
    const keep = new Set(positions);
    let kept = 0;
    for (let e = 0; e < this.count; e++) {
      if (!keep.has(this.positionData[e])) continue;
      this.keyData.copyWithin(kept * this.headDim, e * this.headDim, (e + 1) * this.headDim);
      this.valueData.copyWithin(kept * this.headDim, e * this.headDim, (e + 1) * this.headDim);
      this.positionData[kept] = this.positionData[e];
      kept++;
    }
    if (kept !== keep.size) throw new Error(`asked to keep ${keep.size} positions, only ${kept} are in the cache`);
    this.count = kept;
  }

  /** Copies: keys / values as count x headDim, and the positions. */
  snapshot(): { keys: Float64Array; values: Float64Array; positions: number[] } {
    const n = this.count * this.headDim;
    return {
      keys: this.keyData.slice(0, n),
      values: this.valueData.slice(0, n),
      positions: Array.from(this.positionData.subarray(0, this.count)),
    };
  }

  private grow(): void {
    const capacity = this.positionData.length * 2;
    const keys = new Float64Array(capacity * this.headDim);
    keys.set(this.keyData);
    const values = new Float64Array(capacity * this.headDim);
    values.set(this.valueData);
    const positions = new Int32Array(capacity);
    positions.set(this.positionData);
    this.keyData = keys;
    this.valueData = values;
    this.positionData = positions;
  }
}
