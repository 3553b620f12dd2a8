// The model shapes of the GPU benchmark. snapkv-write-model
// (native/tools/shape_writer/model_shapes.cpp) and torch_bench.py hold the same
// numbers; test/bench-gpu-writer.test.ts checks the writer's against these.
import { BenchModelShape } from '../bench-model';

export const SHAPE_NAMES = ['qwen2.5-coder-1.5b', 'qwen2.5-coder-7b', 'tiny'] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

export interface GpuBenchShape extends BenchModelShape {
  readonly name: ShapeName;
  /** What the file's qwen2.context_length says (the real models': 32K). */
  readonly contextLength: number;
  readonly ropeTheta: number;
}

export const SHAPES: Readonly<Record<ShapeName, GpuBenchShape>> = {
  'qwen2.5-coder-1.5b': {
    name: 'qwen2.5-coder-1.5b',
    hidden: 1536,
    layers: 28,
    heads: 12,
    kvHeads: 2,
    headDim: 128,
    ffn: 8960,
    vocab: 151936,
    tied: true,
    contextLength: 32768,
    ropeTheta: 1e6,
  },
  'qwen2.5-coder-7b': {
    name: 'qwen2.5-coder-7b',
    hidden: 3584,
    layers: 28,
    heads: 28,
    kvHeads: 4,
    headDim: 128,
    ffn: 18944,
    vocab: 152064,
    tied: false,
    contextLength: 32768,
    ropeTheta: 1e6,
  },
  tiny: {
    name: 'tiny',
    hidden: 128,
    layers: 2,
    heads: 4,
    kvHeads: 2,
    headDim: 32,
    ffn: 256,
    vocab: 2048,
    tied: false,
    contextLength: 8192,
    ropeTheta: 1e6,
  },
};

export function parseShapeName(text: string): ShapeName {
  const name = text.trim() as ShapeName;
  if (!SHAPE_NAMES.includes(name)) throw new Error(`unknown shape ${text}; choose from ${SHAPE_NAMES.join(', ')}`);
  return name;
}
