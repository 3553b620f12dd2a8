// Nothing loads that the engine would compute wrongly: every tensor of every
// fixture file is bound to a use (the engine refuses a file with one it does
// not use), and every `<arch>.*` metadata key is implemented or refused by
// name. Checked with Engine.inspect (the load's checks on the header alone)
// on files whose tensor directory is the fixtures' own (zero data: no weight
// is read), and with Engine.load where the refusal must stop a real load.
import * as assert from 'assert';
import * as path from 'path';
import { Engine, EngineError } from '../server/src/engine';
import { allFixtureSpecs } from './fixtures/arch-fixtures';
import { GgufValue, gguf } from './fixtures/gguf-values';
import { writeGguf } from './fixtures/gguf-writer';
import { TinyModelSpec, buildTinyModel, fixtureMatrix, tinyModelName, tinyModelSpec } from './fixtures/tiny-models';
import { useTempDir } from './helpers/temp-dir';

/** Writes the spec's header and tensor directory (zero data), with `edit` applied. */
function writeDataless(
  dir: string,
  spec: TinyModelSpec,
  label: string,
  edit: { metadata?: ReadonlyArray<readonly [string, GgufValue]>; strayTensor?: string } = {},
): { file: string; tensorCount: number } {
  const model = buildTinyModel(spec, { dataless: true });
  const metadata = model.metadata.map(([key, value]) => {
    const replaced = edit.metadata?.find(([k]) => k === key);
    return [key, replaced ? replaced[1] : value] as const;
  });
  for (const entry of edit.metadata ?? []) if (!metadata.some(([key]) => key === entry[0])) metadata.push(entry);
  const tensors = [...model.tensors];
  if (edit.strayTensor !== undefined) {
    tensors.push({ name: edit.strayTensor, ggmlType: 0, dims: [spec.hidden], data: new Uint8Array(4 * spec.hidden) });
  }
  const file = path.join(dir, `${model.name}-${label}.gguf`);
  writeGguf(file, { metadata, tensors });
  return { file, tensorCount: tensors.length };
}

describe('models that would compute wrongly are refused by name', function () {
  this.timeout(600_000);
  const tempDir = useTempDir('refusals');

  it('every fixture the suite runs on passes the load checks: each of its tensors is bound to a use', async () => {
    const specs = allFixtureSpecs(fixtureMatrix());
    assert.ok(specs.length >= 30, `${specs.length} fixtures`);
    for (const spec of specs) {
      const { file, tensorCount: written } = writeDataless(tempDir(), spec, 'as-is');
      const inspection = await Engine.inspect(file);
      assert.strictEqual(inspection.runs, true, `${tinyModelName(spec)}: ${inspection.error}`);
      assert.strictEqual(inspection.architecture, spec.arch);
      const tensorCount = Object.values(inspection.tensorTypes).reduce((a, b) => a + b, 0);
      assert.strictEqual(tensorCount, written);
    }
  });

  for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
    const spec = tinyModelSpec({ arch, weightType: 'Q8_0', tied: true, seed: 2 });

    it(`${arch}: one stray tensor stops the load, named`, async () => {
      const file = writeDataless(tempDir(), spec, 'stray', { strayTensor: 'blk.0.attn_sinks.weight' }).file;
      const inspection = await Engine.inspect(file);
      assert.strictEqual(inspection.runs, false);
      assert.strictEqual(inspection.errorCode, 'UNSUPPORTED_MODEL');
      assert.match(inspection.error ?? '', /'blk\.0\.attn_sinks\.weight'/);
      assert.ok(inspection.config, 'the shape is still reported');
      await assert.rejects(Engine.load(file, { backend: 'cpu' }), (error: unknown) => {
        assert.ok(error instanceof EngineError);
        assert.strictEqual(error.code, 'UNSUPPORTED_MODEL');
        assert.match(error.message, /'blk\.0\.attn_sinks\.weight'/);
        return true;
      });
    });

    it(`${arch}: one unknown math key stops the load, named`, async () => {
      const key = `${arch}.attention.sliding_window`;
      const file = writeDataless(tempDir(), spec, 'sliding', { metadata: [[key, gguf.u32(4096)]] }).file;
      await assert.rejects(Engine.load(file, { backend: 'cpu' }), (error: unknown) => {
        assert.ok(error instanceof EngineError);
        assert.strictEqual(error.code, 'UNSUPPORTED_MODEL');
        assert.ok(error.message.includes(`'${key}'`), error.message);
        return true;
      });
    });
  }

  it('refuses each key that changes the math and is not implemented, naming it', async () => {
    const spec = tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true, seed: 3 });
    const headDim = spec.hidden / spec.heads;
    const refused: Array<readonly [string, GgufValue, RegExp]> = [
      ['qwen2.attn_logit_softcapping', gguf.f32(50), /'qwen2\.attn_logit_softcapping'/],
      ['qwen2.final_logit_softcapping', gguf.f32(30), /'qwen2\.final_logit_softcapping'/],
      ['qwen2.expert_count', gguf.u32(8), /qwen2\.expert_count = 8.*mixture-of-experts/],
      ['qwen2.rope.dimension_count', gguf.u32(headDim / 2), /qwen2\.rope\.dimension_count = 8 \(RoPE on part of each head\)/],
      ['qwen2.attention.layer_norm_epsilon', gguf.f32(1e-5), /'qwen2\.attention\.layer_norm_epsilon'/],
      ['qwen2.rope.scaling.type', gguf.string('longrope'), /qwen2\.rope\.scaling\.type = 'longrope'/],
      ['qwen2.rope.scaling.yarn_log_multiplier', gguf.f32(0.1), /'qwen2\.rope\.scaling\.yarn_log_multiplier'/],
      ['qwen2.rope.partial_rotary_factor', gguf.f32(0.5), /'qwen2\.rope\.partial_rotary_factor'/],
      ['qwen2.attention.value_length', gguf.u32(headDim * 2), /value_length = 32 and key_length 16/],
      ['qwen2.attention.causal', gguf.bool(false), /attention\.causal = false/],
      ['qwen2.embedding_scale', gguf.f32(12), /'qwen2\.embedding_scale'/],
    ];
    for (const [key, value, phrase] of refused) {
      const file = writeDataless(tempDir(), spec, key, { metadata: [[key, value]] }).file;
      const inspection = await Engine.inspect(file);
      assert.strictEqual(inspection.runs, false, key);
      assert.strictEqual(inspection.errorCode, 'UNSUPPORTED_MODEL', `${key}: ${inspection.error}`);
      assert.match(inspection.error ?? '', phrase);
    }
    // Keys that are implemented or leave the math alone load.
    const accepted: Array<readonly [string, GgufValue]> = [
      ['qwen2.expert_count', gguf.u32(0)],
      ['qwen2.rope.dimension_count', gguf.u32(headDim)],
      ['qwen2.attention.causal', gguf.bool(true)],
      ['qwen2.rope.scaling.type', gguf.string('none')],
      ['qwen2.rope.scaling.finetuned', gguf.bool(true)],
    ];
    for (const [key, value] of accepted) {
      const inspection = await Engine.inspect(writeDataless(tempDir(), spec, `ok-${key}`, { metadata: [[key, value]] }).file);
      assert.strictEqual(inspection.runs, true, `${key}: ${inspection.error}`);
    }
  });

  it('reports the usable context from the file and the scaling asked for, without loading weights', async () => {
    const spec = tinyModelSpec({ arch: 'qwen2', weightType: 'Q8_0', tied: true, seed: 4, contextLength: 32768 });
    const file = writeDataless(tempDir(), spec, 'ctx').file;
    const plain = await Engine.inspect(file);
    assert.strictEqual(plain.config?.contextLength, 32768);
    assert.strictEqual(plain.config?.ropeScaling, 'none');
    const yarn = await Engine.inspect(file, { ropeScaling: 'yarn', ropeScale: 4 });
    assert.strictEqual(yarn.config?.contextLength, 131072);
    assert.strictEqual(yarn.config?.fileContextLength, 32768);
    assert.strictEqual(yarn.config?.ropeScaling, 'yarn');
    assert.strictEqual(yarn.config?.ropeOriginalContext, 32768);
    const fromFile = writeDataless(tempDir(), spec, 'ctx-yarn', {
      metadata: [
        ['qwen2.rope.scaling.type', gguf.string('yarn')],
        ['qwen2.rope.scaling.factor', gguf.f32(4)],
        ['qwen2.rope.scaling.original_context_length', gguf.u32(32768)],
      ],
    }).file;
    assert.strictEqual((await Engine.inspect(fromFile)).config?.contextLength, 131072);
    await assert.rejects(Engine.inspect(file, { ropeScaling: 'yarn', ropeScale: 0.5 }), /ropeScale must be from 1 to 1024/);
  });
});
