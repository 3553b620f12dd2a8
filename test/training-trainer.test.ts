// train.py end to end on the CPU, where PyTorch is installed (it is on the GPU machine; this
// development machine may not have it): compact data from the generator, a few steps of a tiny
// model, weights in shards, and the exported GGUF computing what PyTorch computed.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { exportGguf } from '../training/src/export/gguf-export';
import { checkProbe, readProbe } from '../training/src/export/probe-check';
import { generateData } from '../training/src/generate-data';
import { readSmallVocab } from '../training/src/vocab/small-vocab';
import { readCheckpoint } from '../training/src/weights/checkpoint';
import { useTempDir } from './helpers/temp-dir';
import { pythonHas, runPython, TRAINING_DIR } from './training-python';
import { sharedDemoText, sourcePool, tinyTrainedConfig } from './training-helpers';

describe('training: train.py on the CPU (where PyTorch is installed)', function () {
  this.timeout(300_000);
  const tempDir = useTempDir('training-trainer');

  it('trains a tiny model on compact data for a few steps, writes shards, summary and probe, and exports to a matching GGUF', async function () {
    if (!pythonHas('torch')) {
      console.log('      (PyTorch is not installed here: train.py runs on the GPU machine, see training/README.md)');
      this.skip();
    }
    const data = path.join(tempDir(), 'data');
    const common = { out: data, minTokens: 1024, maxTokens: 1536, shardSize: 16, pool: sourcePool(), text: sharedDemoText(), format: 'compact' as const };
    generateData({ ...common, split: 'train', examples: 24, seed: 1, followUps: 2 });
    generateData({ ...common, split: 'val', examples: 6, seed: 2 });

    const full = JSON.parse(fs.readFileSync(path.join(TRAINING_DIR, 'config.json'), 'utf8')) as { model: object; train: object };
    const config = path.join(tempDir(), 'config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        ...full,
        model: { ...full.model, ...tinyTrainedConfig() },
        train: { ...full.train, steps: 6, time_minutes: null, tokens_per_batch: 4096, warmup_steps: 2, eval_every: 3, eval_examples: 4 },
      }),
    );
    const run = path.join(tempDir(), 'run');
    const log = runPython(['train.py', '--data', data, '--out', run, '--config', config, '--device', 'cpu']);
    assert.match(log, /"done": true/);
    const summary = JSON.parse(fs.readFileSync(path.join(run, 'summary.json'), 'utf8')) as { steps: number; val_exact_match: { all: number } };
    assert.strictEqual(summary.steps, 6);
    assert.ok(summary.val_exact_match.all >= 0 && summary.val_exact_match.all <= 1);
    assert.ok(fs.readdirSync(run).some((f) => /^model-00001-of-\d{5}\.safetensors$/.test(f)));

    const gguf = path.join(run, 'model.gguf');
    exportGguf(readCheckpoint(run), gguf, { type: 'F32', vocab: readSmallVocab() });
    const result = await checkProbe(gguf, readProbe(path.join(run, 'probe.json')), 'F32');
    assert.ok(result.ok && result.sameArgmax, `relative error ${result.relativeError}`);
  });
});
