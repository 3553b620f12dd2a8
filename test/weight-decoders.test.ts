// The engine's block decoders (native/src/cpu/block_decoders.cpp, reached
// through `snapkv-unit-test decode`, which runs the engine's convert_row_to_f32)
// against the reference decoders of test/reference/ggml-blocks64.ts, bit for
// bit, on random blocks of every format; and the fixture quantizers against the
// reference decoders: valid blocks, every field in use, values within a step.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { GgmlType } from './fixtures/ggml-types';
import { f16Bits } from './fixtures/half-floats';
import { QUANTIZED_TYPE_NAMES, quantizeBlocks } from './fixtures/block-quantizers';
import { SeededRandom, deriveSeed } from './fixtures/seeded-random';
import { nativeBuildFile, runProgram } from './helpers/run-program';
import { useTempDir } from './helpers/temp-dir';
import { BLOCK_F16_FIELDS, BLOCK_TYPE_NAMES, BlockTypeName, blockGeometry, decodeBlocks64 } from './reference/ggml-blocks64';

const TOOL = nativeBuildFile('snapkv-unit-test');

/** Random bytes, with every f16 field a finite nonzero scale of either sign in [2^-8, 2^2). */
function randomBlocks(type: BlockTypeName, blocks: number, random: SeededRandom): Uint8Array {
  const { bytes } = blockGeometry(type);
  const out = new Uint8Array(blocks * bytes);
  for (let i = 0; i < out.length; i++) out[i] = random.integer(0, 256);
  for (let k = 0; k < blocks; k++) {
    for (const at of BLOCK_F16_FIELDS[type]) {
      const magnitude = 2 ** random.integer(-8, 2) * (1 + random.uniform());
      const bits = f16Bits(random.uniform() < 0.5 ? -magnitude : magnitude);
      out[k * bytes + at] = bits & 0xff;
      out[k * bytes + at + 1] = bits >> 8;
    }
  }
  return out;
}

/** Relative RMS error of plain round-to-nearest on N(0, 1) values that each format must stay under. */
const QUANTIZER_BOUND: Readonly<Record<string, number>> = {
  Q4_0: 0.15, Q4_1: 0.12, Q5_0: 0.08, Q5_1: 0.06, Q2_K: 0.6, Q3_K: 0.3, Q4_K: 0.12, Q5_K: 0.06, Q6_K: 0.03,
};

describe('weight block formats: engine decoders, reference decoders, fixture quantizers', function () {
  this.timeout(60_000);
  const tempDir = useTempDir('decoders');

  it('lists every block format the engine multiplies', () => {
    assert.deepStrictEqual([...BLOCK_TYPE_NAMES].sort(), ['Q2_K', 'Q3_K', 'Q4_0', 'Q4_1', 'Q4_K', 'Q5_0', 'Q5_1', 'Q5_K', 'Q6_K', 'Q8_0']);
    for (const type of BLOCK_TYPE_NAMES) assert.ok(GgmlType[type] !== undefined, type);
  });

  for (const type of BLOCK_TYPE_NAMES) {
    it(`${type}: the engine decodes random blocks to the reference's float32 bits`, async () => {
      assert.ok(fs.existsSync(TOOL), `${TOOL} is missing: run npm run build:native`);
      const { values } = blockGeometry(type);
      const blocks = values === 32 ? 512 : 64;
      const bytes = randomBlocks(type, blocks, new SeededRandom(deriveSeed(14, type)));
      const input = path.join(tempDir(), `${type}.blocks`);
      const output = path.join(tempDir(), `${type}.f32`);
      fs.writeFileSync(input, bytes);
      const run = await runProgram(TOOL, ['decode', type, input, output], { timeoutMs: 30_000 });
      assert.strictEqual(run.code, 0, run.stderr);
      const raw = fs.readFileSync(output);
      const engine = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      const reference = Float32Array.from(decodeBlocks64(type, bytes, blocks * values));
      assert.strictEqual(engine.length, reference.length);
      const engineBits = new Uint32Array(engine.buffer);
      const referenceBits = new Uint32Array(reference.buffer);
      let nonzero = 0;
      for (let i = 0; i < reference.length; i++) {
        if (engineBits[i] !== referenceBits[i]) {
          assert.fail(`${type} value ${i} (block ${Math.floor(i / values)}, index ${i % values}): engine ${engine[i]}, reference ${reference[i]}`);
        }
        if (reference[i] !== 0) nonzero++;
        assert.ok(Number.isFinite(reference[i]), `${type} value ${i} is not finite`);
      }
      assert.ok(nonzero > reference.length * 0.8, `${type}: only ${nonzero} of ${reference.length} values are nonzero`);
    });

    it(`${type}: every byte of a block changes what the reference decodes (no field ignored)`, () => {
      const { values, bytes } = blockGeometry(type);
      const block = randomBlocks(type, 1, new SeededRandom(deriveSeed(41, type)));
      const base = decodeBlocks64(type, block, values);
      for (let at = 0; at < bytes; at++) {
        // Some single-bit change of the byte must show (one bit alone may meet a zero sub-block scale).
        const matters = [0, 1, 2, 3, 4, 5, 6, 7].some((b) => {
          const changed = block.slice();
          changed[at] ^= 1 << b;
          const decoded = decodeBlocks64(type, changed, values);
          return decoded.some((v, i) => !Object.is(v, base[i]));
        });
        assert.ok(matters, `${type}: byte ${at} does not affect any value`);
      }
    });
  }

  for (const type of QUANTIZED_TYPE_NAMES) {
    it(`${type}: the fixture quantizer writes blocks that decode to within its bound, every field varying`, () => {
      const { values, bytes } = blockGeometry(type);
      const blocks = 64;
      const x = new SeededRandom(deriveSeed(3, type)).normals(blocks * values, 1);
      const encoded = quantizeBlocks(type, x);
      assert.strictEqual(encoded.length, blocks * bytes);
      const decoded = decodeBlocks64(type, encoded, x.length);
      let error = 0;
      let norm = 0;
      for (let i = 0; i < x.length; i++) {
        error += (decoded[i] - Math.fround(x[i])) ** 2;
        norm += x[i] ** 2;
      }
      const relative = Math.sqrt(error / norm);
      assert.ok(relative < QUANTIZER_BOUND[type], `${type}: relative RMS error ${relative.toFixed(4)} >= ${QUANTIZER_BOUND[type]}`);
      // Scales, mins and high bits all carry information: no byte offset is the same in every block.
      for (let at = 0; at < bytes; at++) {
        const seen = new Set<number>();
        for (let k = 0; k < blocks; k++) seen.add(encoded[k * bytes + at]);
        assert.ok(seen.size > 1, `${type}: byte ${at} of every block is ${[...seen][0]}`);
      }
    });
  }
});
