// Trained weights (train.py's safetensors) and the small vocabulary into a qwen2 GGUF file,
// written with the project's own GGUF writer (test/fixtures/gguf-writer.ts). 2-D weights take
// the chosen type; norms and biases stay F32, as llama.cpp keeps them.
import { ggmlTensorBytes } from '../../../test/fixtures/ggml-types';
import { GgufTensorSpec, GgufLayout, planGguf, writeGguf } from '../../../test/fixtures/gguf-writer';
import { GgufValue, gguf } from '../../../test/fixtures/gguf-values';
import { WEIGHT_TYPE_ID, WeightType, decodeWeights, encodeWeights } from '../../../test/fixtures/quantize';
import { SmallVocab } from '../vocab/small-vocab';
import { vocabGgufEntries } from '../vocab/vocab-metadata';
import { SafetensorsFile } from '../weights/safetensors';
import { CONFIG_METADATA_KEY, parseTrainedModelConfig, TrainedModelConfig, trainerTensors } from '../weights/trainer-layout';

export type ExportType = Extract<WeightType, 'F32' | 'F16' | 'Q8_0'>;
export const EXPORT_TYPES: readonly ExportType[] = ['F32', 'F16', 'Q8_0'];

export const DEMO_MODEL_NAME = 'snapkv-demo';
export const DEMO_MODEL_DESCRIPTION =
  'A small demonstration model trained for where-is and what-is questions about code ' +
  '(where a function is defined, what a constant is set to, which file imports a module). It is not a general assistant.';

/** llama.cpp's general.file_type (enum llama_ftype) for a file of this weight type. */
const FILE_TYPE: Readonly<Record<ExportType, number>> = { F32: 0, F16: 1, Q8_0: 7 };

export interface ExportedModel {
  readonly config: TrainedModelConfig;
  readonly layout: GgufLayout;
  /** Values an engine reading the file sees, by GGUF tensor name (for the float64 reference). */
  readonly weights: ReadonlyMap<string, Float64Array>;
}

export interface ExportOptions {
  readonly type: ExportType;
  readonly vocab: SmallVocab;
  readonly name?: string;
  readonly description?: string;
  /** sha256 of the vocabulary file, checked against the one the checkpoint was trained with when both are known. */
  readonly vocabSha256?: string;
}

export function exportGguf(checkpoint: SafetensorsFile, outPath: string, options: ExportOptions): ExportedModel {
  const configJson = checkpoint.metadata[CONFIG_METADATA_KEY];
  if (configJson === undefined) throw new Error(`the checkpoint has no ${CONFIG_METADATA_KEY} metadata: was it written by train.py?`);
  const config = parseTrainedModelConfig(configJson, CONFIG_METADATA_KEY);
  if (config.vocab_size !== options.vocab.tokens.length) {
    throw new Error(`the model has ${config.vocab_size} token embeddings but the vocabulary has ${options.vocab.tokens.length} tokens`);
  }
  const trainedWith = checkpoint.metadata['snapkv.vocab_sha256'];
  if (trainedWith !== undefined && options.vocabSha256 !== undefined && trainedWith !== options.vocabSha256) {
    throw new Error('the checkpoint was trained with another vocabulary file than training/tokenizer/snapkv-demo-vocab.json');
  }

  const expected = trainerTensors(config);
  const extra = [...checkpoint.tensors.keys()].filter((name) => !expected.some((t) => t.name === name));
  if (extra.length > 0) throw new Error(`the checkpoint has tensors the qwen2 layout does not: ${extra.slice(0, 5).join(', ')}`);

  const weights = new Map<string, Float64Array>();
  const tensors: GgufTensorSpec[] = expected.map((t) => {
    const tensor = checkpoint.tensors.get(t.name);
    if (tensor === undefined) throw new Error(`the checkpoint lacks ${t.name}`);
    if (tensor.shape.join() !== t.shape.join()) throw new Error(`${t.name} has shape [${tensor.shape}], the config implies [${t.shape}]`);
    const type: WeightType = t.shape.length >= 2 ? options.type : 'F32';
    const bytes = encodeWeights(type, tensor.values);
    weights.set(t.ggufName, decodeWeights(type, bytes, tensor.values.length));
    return { name: t.ggufName, ggmlType: WEIGHT_TYPE_ID[type], dims: [...t.shape].reverse(), data: bytes };
  });

  const layout = writeGguf(outPath, { metadata: modelMetadata(config, options), tensors });
  return { config, layout, weights };
}

/** The layout (and so the size) of the file a checkpoint of this config would give, without weights. */
export function planExport(config: TrainedModelConfig, options: ExportOptions): GgufLayout {
  const tensors: GgufTensorSpec[] = trainerTensors(config).map((t) => {
    const ggmlType = WEIGHT_TYPE_ID[t.shape.length >= 2 ? options.type : 'F32'];
    const dims = [...t.shape].reverse();
    return { name: t.ggufName, ggmlType, dims, data: () => [], byteLength: ggmlTensorBytes(ggmlType, dims) };
  });
  return planGguf({ metadata: modelMetadata(config, options), tensors });
}

function modelMetadata(c: TrainedModelConfig, options: ExportOptions): Array<readonly [string, GgufValue]> {
  return [
    ['general.architecture', gguf.string('qwen2')],
    ['general.name', gguf.string(options.name ?? DEMO_MODEL_NAME)],
    ['general.description', gguf.string(options.description ?? DEMO_MODEL_DESCRIPTION)],
    ['qwen2.context_length', gguf.u32(c.context_length)],
    ['qwen2.embedding_length', gguf.u32(c.hidden_size)],
    ['qwen2.block_count', gguf.u32(c.num_layers)],
    ['qwen2.feed_forward_length', gguf.u32(c.ffn_size)],
    ['qwen2.attention.head_count', gguf.u32(c.num_heads)],
    ['qwen2.attention.head_count_kv', gguf.u32(c.num_kv_heads)],
    ['qwen2.attention.layer_norm_rms_epsilon', gguf.f32(c.rms_eps)],
    ['qwen2.rope.freq_base', gguf.f32(c.rope_base)],
    // Written because head_dim need not be hidden / heads in general; the engine reads it when present.
    ['qwen2.attention.key_length', gguf.u32(c.head_dim)],
    ['qwen2.attention.value_length', gguf.u32(c.head_dim)],
    ['general.file_type', gguf.u32(FILE_TYPE[options.type])],
    ['general.quantization_version', gguf.u32(2)],
    ...vocabGgufEntries(options.vocab),
  ];
}
