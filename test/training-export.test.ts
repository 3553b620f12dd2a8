// The export path, proven without training: random weights laid out exactly as train.py saves
// them become a qwen2 GGUF through the project's writer; the engine loads it and its logits
// match the independent float64 reference; its tokenizer and chat template are the ones the
// data was made with. Where PyTorch is installed, model.py itself is checked too.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Engine } from '../server/src/engine';
import { ChatTemplate } from '../server/src/text/chat-template';
import { TextTokenizer } from '../server/src/text/tokenizer';
import { SYSTEM_PROMPT } from '../server/src/session/question-text';
import { DEMO_MODEL_DESCRIPTION, exportGguf, ExportType, planExport } from '../training/src/export/gguf-export';
import { checkProbe, readProbe } from '../training/src/export/probe-check';
import { readSmallVocab } from '../training/src/vocab/small-vocab';
import { readCheckpoint } from '../training/src/weights/checkpoint';
import { readSafetensors, writeSafetensors } from '../training/src/weights/safetensors';
import { parseTrainedModelConfig, TrainedModelConfig, trainerTensors } from '../training/src/weights/trainer-layout';
import { relativeError, rowOf } from './helpers/logits-compare';
import { useTempDir } from './helpers/temp-dir';
import { ReferenceForward } from './reference/forward64';
import { pythonHas, runPython, TRAINING_DIR } from './training-python';
import { sharedDemoText, sourcePool, tinyTrainedConfig, writeRandomCheckpoint } from './training-helpers';

const TOLERANCE = 1e-4;

function committedConfig(): TrainedModelConfig {
  const config = JSON.parse(fs.readFileSync(path.join(TRAINING_DIR, 'config.json'), 'utf8')) as { model: unknown };
  return parseTrainedModelConfig(JSON.stringify(config.model), 'training/config.json');
}

describe('training: safetensors and the trainer layout', function () {
  this.timeout(60_000);
  const tempDir = useTempDir('training-safetensors');

  it('round-trips tensors, shapes and metadata', () => {
    const file = path.join(tempDir(), 'a.safetensors');
    const tensors = [
      { name: 'b', shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
      { name: 'a', shape: [1], values: Float32Array.from([0.25]) },
    ];
    writeSafetensors(file, tensors, { note: 'x' });
    const read = readSafetensors(file);
    assert.deepStrictEqual(read.metadata, { note: 'x' });
    assert.deepStrictEqual([...read.tensors.keys()], ['a', 'b']);
    assert.deepStrictEqual(read.tensors.get('b'), tensors[0]);
    const bytes = fs.readFileSync(file);
    assert.strictEqual(Number(bytes.readBigUInt64LE(0)) % 8, 0, 'header padded to 8 bytes');
  });

  it("joins a checkpoint's shards, and the row parts of a tensor larger than a shard", () => {
    const dir = path.join(tempDir(), 'shards');
    fs.mkdirSync(dir);
    const big = Float32Array.from({ length: 12 }, (_, i) => i);
    writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [
      { name: 'big@part0', shape: [2, 3], values: big.slice(0, 6) },
      { name: 'small', shape: [2], values: Float32Array.from([7, 8]) },
    ], { cfg: '1' });
    writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [{ name: 'big@part1', shape: [2, 3], values: big.slice(6) }], { cfg: '1' });
    const joined = readCheckpoint(dir);
    assert.deepStrictEqual(joined.tensors.get('big'), { name: 'big', shape: [4, 3], values: big });
    assert.deepStrictEqual([...joined.tensors.keys()].sort(), ['big', 'small']);
    assert.deepStrictEqual(joined.metadata, { cfg: '1' });
  });

  it('reads what training/safetensors_io.py writes, and Python reads what TypeScript writes', function () {
    if (!pythonHas('numpy')) this.skip();
    const fromPython = path.join(tempDir(), 'py.safetensors');
    runPython(['-c', `
import numpy as np, sys
from safetensors_io import write_safetensors
write_safetensors(sys.argv[1], {"w": np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "h": np.array([1.5, -2], dtype=np.float16)}, {"k": "v"})
`, fromPython]);
    const read = readSafetensors(fromPython);
    assert.deepStrictEqual(read.metadata, { k: 'v' });
    assert.deepStrictEqual(read.tensors.get('w'), { name: 'w', shape: [2, 3], values: Float32Array.from([0, 0.25, 0.5, 0.75, 1, 1.25]) });
    assert.deepStrictEqual([...read.tensors.get('h')!.values], [1.5, -2]);

    const fromTs = path.join(tempDir(), 'ts.safetensors');
    writeSafetensors(fromTs, [{ name: 'x', shape: [3], values: Float32Array.from([1, 2, 3]) }], { m: 'n' });
    const out = runPython(['-c', `
import sys, json
from safetensors_io import read_safetensors
t, m = read_safetensors(sys.argv[1])
print(json.dumps({"x": t["x"].tolist(), "shape": list(t["x"].shape), "m": m}))
`, fromTs]);
    assert.deepStrictEqual(JSON.parse(out), { x: [1, 2, 3], shape: [3], m: { m: 'n' } });
  });

  it("names and shapes every tensor as model.py's parameters (checked against PyTorch where it is installed)", function () {
    const config = committedConfig();
    const tensors = trainerTensors(config);
    assert.strictEqual(tensors.length, 2 + 12 * config.num_layers);
    assert.strictEqual(new Set(tensors.map((t) => t.ggufName)).size, tensors.length);
    if (!pythonHas('torch')) {
      console.log('      (PyTorch is not installed here: model.py parameter names not compared)');
      return;
    }
    const out = runPython(['-c', `
import json
from model import DemoModel, ModelConfig
c = ModelConfig.from_dict(json.load(open("config.json"))["model"])
print(json.dumps([[n, list(p.shape)] for n, p in DemoModel(c).named_parameters()]))
`]);
    assert.deepStrictEqual(JSON.parse(out), tensors.map((t) => [t.name, t.shape]));
  });

  it('keeps the committed model config under 40 MB as Q8_0', () => {
    const config = committedConfig();
    const megabytes = planExport(config, { type: 'Q8_0', vocab: readSmallVocab() }).fileSize / 1e6;
    assert.ok(megabytes < 40, `${megabytes.toFixed(1)} MB`);
  });
});

describe('training: exported GGUF against the float64 reference', function () {
  this.timeout(120_000);
  const tempDir = useTempDir('training-export');

  for (const type of ['F32', 'Q8_0'] as const) {
    it(`${type}: the engine loads it as qwen2 (halves RoPE, qkv bias, tied, GQA) and its logits match the reference`, async () => {
      const config = tinyTrainedConfig();
      const weightsFile = path.join(tempDir(), `random-${type}.safetensors`);
      writeRandomCheckpoint(weightsFile, config, 5);
      const ggufFile = path.join(tempDir(), `random-${type}.gguf`);
      const exported = exportGguf(readSafetensors(weightsFile), ggufFile, { type, vocab: readSmallVocab() });
      const model = await Engine.load(ggufFile, { backend: 'cpu', kvType: 'f32', exact: true });
      try {
        const info = model.info;
        assert.deepStrictEqual(
          [info.architecture, info.layers, info.hidden, info.heads, info.kvHeads, info.headDim, info.ffn, info.vocab, info.contextLength],
          ['qwen2', 2, 64, 4, 2, 16, 128, 8192, 16384],
        );
        assert.strictEqual(info.ropeLayout, 'halves');
        assert.strictEqual(info.qkvBias, true);
        assert.strictEqual(info.tiedEmbeddings, true);
        assert.strictEqual(model.metadata('general.description'), DEMO_MODEL_DESCRIPTION);

        const reference = new ReferenceForward(
          {
            arch: 'qwen2',
            hidden: 64,
            layers: 2,
            heads: 4,
            kvHeads: 2,
            headDim: 16,
            ffn: 128,
            vocab: 8192,
            ropeBase: Math.fround(config.rope_base),
            rmsEps: Math.fround(config.rms_eps),
            tied: true,
          },
          exported.weights,
        );
        const { tokenizer } = sharedDemoText();
        const prompt = tokenizer.encode(sourcePool()[100].text).slice(0, 48);
        const prefix = await model.prefill(prompt, { logits: 'all' });
        try {
          let worst = 0;
          reference.forward(prompt, (position, expected) => {
            worst = Math.max(worst, relativeError(rowOf(prefix.logits!, position, 8192), expected));
          });
          assert.ok(worst < TOLERANCE, `relative error ${worst.toExponential(2)}`);
        } finally {
          prefix.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  }

  it("carries the tokenizer and chat template the data was made with (TextTokenizer and ChatTemplate from the file's metadata)", async () => {
    const config = tinyTrainedConfig();
    const weightsFile = path.join(tempDir(), 'tok.safetensors');
    writeRandomCheckpoint(weightsFile, config, 6);
    const ggufFile = path.join(tempDir(), 'tok.gguf');
    exportGguf(readSafetensors(weightsFile), ggufFile, { type: 'F16', vocab: readSmallVocab() });
    const model = await Engine.load(ggufFile, { backend: 'cpu', kvType: 'f32', exact: true });
    try {
      const metadata = model.metadata();
      const fromFile = TextTokenizer.fromMetadata(metadata);
      const template = ChatTemplate.fromMetadata(metadata);
      const inProcess = sharedDemoText();
      assert.strictEqual(template.source, 'gguf');
      for (const file of sourcePool().filter((_, i) => i % 300 === 0)) {
        assert.deepStrictEqual(fromFile.encode(file.text), inProcess.tokenizer.encode(file.text));
      }
      const request = { system: SYSTEM_PROMPT, history: [{ question: 'q1', answer: 'a1' }], question: 'Which file defines `x`?' };
      assert.deepStrictEqual(template.layout(request), inProcess.template.layout(request));
      assert.deepStrictEqual(fromFile.stopIds, inProcess.tokenizer.stopIds);
    } finally {
      model.dispose();
    }
  });

  it('matches PyTorch: model.py logits of a random checkpoint, through export, equal the engine (where PyTorch is installed)', async function () {
    if (!pythonHas('torch')) {
      console.log('      (PyTorch is not installed here: the PyTorch-to-engine check runs on the GPU machine, see training/README.md)');
      this.skip();
    }
    const configFile = path.join(tempDir(), 'tiny-config.json');
    const full = JSON.parse(fs.readFileSync(path.join(TRAINING_DIR, 'config.json'), 'utf8')) as { model: object };
    fs.writeFileSync(configFile, JSON.stringify({ ...full, model: { ...full.model, ...tinyTrainedConfig(), hidden_size: 96, num_heads: 6, num_kv_heads: 2 } }));
    const run = path.join(tempDir(), 'torch-run');
    runPython(['random_checkpoint.py', '--out', run, '--config', configFile, '--seed', '4']);
    const probe = readProbe(path.join(run, 'probe.json'));
    for (const type of ['F32', 'Q8_0'] as ExportType[]) {
      const ggufFile = path.join(run, `m-${type}.gguf`);
      exportGguf(readCheckpoint(run), ggufFile, { type, vocab: readSmallVocab() });
      const result = await checkProbe(ggufFile, probe, type);
      assert.ok(result.ok && result.sameArgmax, `${type}: relative error ${result.relativeError} (tolerance ${result.tolerance})`);
    }
  });
});
