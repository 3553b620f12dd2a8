// The peer bench's parts that need no llama.cpp: its slab-at-a-time writer
// gives the fixture writer's bytes, its recipes give llama.cpp's tensor types,
// and its options parse as documented.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { writePeerModel } from '../bench/peer/model-files';
import { parsePeerOptions } from '../bench/peer/options';
import { UsageRequested } from '../bench/usage';
import { PEER_SHAPES, peerModelSpec, recipeOf } from '../bench/peer/shapes';
import { tinyModelSpec, writeTinyModel } from './fixtures/tiny-models';
import { Q5_K_M } from './fixtures/weight-recipes';
import { useTempDir } from './helpers/temp-dir';

describe('peer bench', () => {
  const tempDir = useTempDir('peer-bench');

  for (const recipe of ['Q4_K_M', 'Q6_K', 'Q8_0'] as const) {
    it(`writes the fixture writer's bytes a slab at a time (${recipe} recipe, rows of 320 and 512 values, slabs of 12 rows)`, () => {
      // Rows of 320 values are no multiple of 256, so the K-quant fallbacks are in the file too; ffn_down's 512 are.
      const spec = tinyModelSpec({ ...peerModelSpec(PEER_SHAPES['qwen2.5-0.5b-4l'], recipe), hidden: 320, heads: 5, kvHeads: 1, ffn: 512, layers: 2, vocab: 1024 });
      const fixture = writeTinyModel(spec, tempDir());
      const peer = path.join(tempDir(), `peer-${recipe}.gguf`);
      // 4096-value slabs: 12 rows of 320, 8 of 512, so every tensor is written in several slabs, the last one short.
      writePeerModel(spec, peer, 4096);
      const expected = fs.readFileSync(fixture.path);
      const actual = fs.readFileSync(peer);
      assert.strictEqual(actual.length, expected.length);
      assert.ok(actual.equals(expected), 'the slab writer and the fixture writer disagree');
      assert.ok(!fs.existsSync(`${peer}.tmp`));
    });
  }

  it("types tensors as llama.cpp's Q5_K_M, Q6_K, Q3_K and Q2_K recipes do", () => {
    const context = { rowLength: 1536, layers: 28, tied: true };
    // Of 28 layers, 5 "uses more bits" ((5 - 28/8) % 3 == 2) and 4 does not.
    assert.strictEqual(Q5_K_M.typeOf('blk.4.attn_q.weight', context), 'Q5_K');
    assert.strictEqual(Q5_K_M.typeOf('blk.4.ffn_down.weight', { ...context, rowLength: 8960 }), 'Q5_K');
    assert.strictEqual(Q5_K_M.typeOf('blk.5.ffn_down.weight', { ...context, rowLength: 8960 }), 'Q6_K');
    assert.strictEqual(Q5_K_M.typeOf('blk.0.attn_v.weight', context), 'Q6_K');
    assert.strictEqual(Q5_K_M.typeOf('token_embd.weight', context), 'Q6_K');
    assert.strictEqual(Q5_K_M.typeOf('blk.4.attn_q.weight', { ...context, rowLength: 896 }), 'Q5_1');
    assert.strictEqual(Q5_K_M.typeOf('blk.5.attn_v.weight', { ...context, rowLength: 896 }), 'Q8_0');
    assert.strictEqual(recipeOf('Q6_K').typeOf('blk.5.attn_q.weight', { ...context, rowLength: 896 }), 'Q8_0');
    assert.strictEqual(recipeOf('Q6_K').typeOf('blk.5.attn_q.weight', context), 'Q6_K');
    // Q2_K and Q3_K files: whole 256-value rows only (llama.cpp's IQ4_NL fallback is not written).
    assert.strictEqual(recipeOf('Q2_K').typeOf('blk.5.attn_q.weight', context), 'Q2_K');
    assert.strictEqual(recipeOf('Q3_K').typeOf('blk.5.ffn_down.weight', { ...context, rowLength: 8960 }), 'Q3_K');
    assert.throws(() => recipeOf('Q3_K').typeOf('blk.5.attn_q.weight', { ...context, rowLength: 896 }), /rows of 896 values cannot hold Q3_K blocks.*IQ4_NL/);
  });

  it('parses its options: --quick cuts sizes, flags override, unknown flags fail', () => {
    const quick = parsePeerOptions(['--quick', '--threads', '3', '--prefill', '128,256'], '/repo');
    assert.strictEqual(quick.quick, true);
    assert.strictEqual(quick.threads, 3);
    assert.deepStrictEqual(quick.prefillLengths, [128, 256]);
    assert.deepStrictEqual(quick.shapes.map((s) => s.name), ['qwen2.5-0.5b-4l']);
    const full = parsePeerOptions(['--scratch', '/tmp/x', '--types', 'q4_k_m,f16'], '/repo');
    assert.strictEqual(full.threads, 2);
    assert.deepStrictEqual(full.prefillLengths, [512, 2048, 8192]);
    assert.deepStrictEqual(full.decodeContexts, [512, 8192]);
    assert.deepStrictEqual(full.snapkvLengths, [8192, 32768]);
    assert.deepStrictEqual(full.types, ['Q4_K_M', 'F16']);
    assert.strictEqual(full.modelsDir, path.join('/tmp/x', 'models'));
    assert.throws(() => parsePeerOptions(['--prefill', '0'], '/repo'), /positive integer/);
    assert.throws(() => parsePeerOptions(['--types', 'IQ4_NL'], '/repo'), /unknown file type/);
    assert.throws(() => parsePeerOptions(['--frobnicate'], '/repo'), (error: unknown) => !(error instanceof UsageRequested) && /unknown option/.test(String(error)));
    // --help is no failure: the bench prints the usage to stdout and exits 0.
    for (const flag of ['--help', '-h']) {
      assert.throws(() => parsePeerOptions(['--threads', '4', flag], '/repo'), (error: unknown) => error instanceof UsageRequested && /--sections LIST/.test(error.message));
    }
  });
});
