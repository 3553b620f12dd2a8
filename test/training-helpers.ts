// Shared pieces of the training tests: the source pool, the demo tokenizer (both built once
// per process), and checkpoints with random weights in train.py's format.
import { SeededRandom, deriveSeed } from './fixtures/seeded-random';
import { loadSourcePool, SourceFile, Split } from '../training/src/data/source-pool';
import { indexSplit, SplitPool } from '../training/src/data/split-pool';
import { demoText, DemoText } from '../training/src/vocab/demo-text';
import { NamedTensor, writeSafetensors } from '../training/src/weights/safetensors';
import { CONFIG_METADATA_KEY, TrainedModelConfig, trainerTensors } from '../training/src/weights/trainer-layout';

let pool: SourceFile[] | undefined;
const splits = new Map<Split, SplitPool>();
let text: DemoText | undefined;

export function sourcePool(): SourceFile[] {
  pool ??= loadSourcePool();
  return pool;
}

export function splitPool(split: Split): SplitPool {
  let indexed = splits.get(split);
  if (indexed === undefined) splits.set(split, (indexed = indexSplit(sourcePool(), split)));
  return indexed;
}

export function sharedDemoText(): DemoText {
  text ??= demoText();
  return text;
}

/** Small enough for the float64 reference; Q8_0-friendly (hidden and ffn multiples of 32). */
export function tinyTrainedConfig(overrides: Partial<TrainedModelConfig> = {}): TrainedModelConfig {
  return {
    architecture: 'qwen2',
    vocab_size: 8192,
    hidden_size: 64,
    num_layers: 2,
    num_heads: 4,
    num_kv_heads: 2,
    head_dim: 16,
    ffn_size: 128,
    rope_base: 1_000_000,
    rms_eps: 1e-6,
    tied_embeddings: true,
    context_length: 16384,
    ...overrides,
  };
}

/**
 * Random weights laid out as train.py saves them (names and torch shapes of model.py), scaled
 * as random_checkpoint.py scales them: norms around 1, biases around 0, matrices ~ 1.5/sqrt(in).
 */
export function randomCheckpointTensors(config: TrainedModelConfig, seed: number): NamedTensor[] {
  return trainerTensors(config).map(({ name, shape }) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const random = new SeededRandom(deriveSeed(seed, name));
    let values: Float64Array;
    if (name.endsWith('norm.weight')) values = random.normals(count, 0.1, 1);
    else if (name.endsWith('.bias')) values = random.normals(count, 0.1);
    else if (name === 'model.embed_tokens.weight') values = random.normals(count, 2 / Math.sqrt(config.hidden_size));
    else values = random.normals(count, 1.5 / Math.sqrt(shape[1]));
    return { name, shape, values: Float32Array.from(values) };
  });
}

export function writeRandomCheckpoint(file: string, config: TrainedModelConfig, seed: number): NamedTensor[] {
  const tensors = randomCheckpointTensors(config, seed);
  writeSafetensors(file, tensors, { format: 'pt', [CONFIG_METADATA_KEY]: JSON.stringify(config) });
  return tensors;
}
