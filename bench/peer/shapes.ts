// The model shapes and weight recipes the peer bench writes: real Qwen shapes
// (random weights, the real 151,669-token vocabulary), each in llama.cpp's
// per-tensor recipe of a file type, so both engines read the same file.
import type { ArchVariant } from '../../test/fixtures/arch-variants';
import { TinyModelSpec, tinyModelSpec } from '../../test/fixtures/tiny-models';
import { WeightType } from '../../test/fixtures/quantize';
import { Q4_K_M, Q5_K_M, WeightRecipe, kQuantRecipe, uniformRecipe } from '../../test/fixtures/weight-recipes';

export interface PeerShape {
  readonly name: string;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffn: number;
  /** RoPE scaling keys and the like, as the test fixtures write them. */
  readonly variant?: ArchVariant;
}

/** Published configurations (tied embeddings in both), and cut-down ones of the same widths for quick passes. */
export const PEER_SHAPES: Readonly<Record<string, PeerShape>> = {
  'qwen2.5-0.5b': { name: 'qwen2.5-0.5b', hidden: 896, layers: 24, heads: 14, kvHeads: 2, ffn: 4864 },
  'qwen2.5-coder-1.5b': { name: 'qwen2.5-coder-1.5b', hidden: 1536, layers: 28, heads: 12, kvHeads: 2, ffn: 8960 },
  // Widths of the 0.5B and 1.5B models with 4 layers: minutes to write, the same kernels per layer.
  'qwen2.5-0.5b-4l': { name: 'qwen2.5-0.5b-4l', hidden: 896, layers: 4, heads: 14, kvHeads: 2, ffn: 4864 },
  'qwen2.5-coder-1.5b-4l': { name: 'qwen2.5-coder-1.5b-4l', hidden: 1536, layers: 4, heads: 12, kvHeads: 2, ffn: 8960 },
  // YaRN as Qwen documents it for long prompts (factor 4), with the original context shrunk to 64
  // tokens so a 128-token prompt spans all three bands of the frequency ramp; with and without an
  // explicit attention factor, the key whose treatment differs between implementations.
  'qwen2.5-coder-1.5b-4l-yarn': {
    name: 'qwen2.5-coder-1.5b-4l-yarn', hidden: 1536, layers: 4, heads: 12, kvHeads: 2, ffn: 8960,
    variant: { ropeScaling: { type: 'yarn', factor: 4, originalContext: 64 } },
  },
  'qwen2.5-coder-1.5b-4l-yarn-attn': {
    name: 'qwen2.5-coder-1.5b-4l-yarn-attn', hidden: 1536, layers: 4, heads: 12, kvHeads: 2, ffn: 8960,
    variant: { ropeScaling: { type: 'yarn', factor: 4, originalContext: 64, attnFactor: 1.25 } },
  },
};

/** The file types of the bench: the names llama.cpp's quantize tool gives them. */
export type PeerFileType = 'F16' | 'Q8_0' | 'Q4_0' | 'Q4_K_M' | 'Q5_K_M' | 'Q6_K' | 'Q3_K' | 'Q2_K';
export const PEER_FILE_TYPES: readonly PeerFileType[] = ['F16', 'Q8_0', 'Q4_0', 'Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q3_K', 'Q2_K'];

export function recipeOf(type: PeerFileType): WeightRecipe {
  switch (type) {
    case 'Q4_K_M': return Q4_K_M;
    case 'Q5_K_M': return Q5_K_M;
    case 'Q6_K':
    case 'Q3_K':
    case 'Q2_K':
      return kQuantRecipe(type);
    default: return uniformRecipe(type);
  }
}

/** Room for a 32K-token prompt plus a question and an answer (the SnapKV rows). */
export const PEER_CONTEXT_LENGTH = 40960;

export function peerModelSpec(shape: PeerShape, type: PeerFileType, seed = 1): TinyModelSpec {
  const weightType: WeightType = type === 'Q4_K_M' ? 'Q4_K' : type === 'Q5_K_M' ? 'Q5_K' : type;
  return tinyModelSpec({
    arch: 'qwen2',
    tied: true,
    hidden: shape.hidden,
    layers: shape.layers,
    heads: shape.heads,
    kvHeads: shape.kvHeads,
    ffn: shape.ffn,
    contextLength: PEER_CONTEXT_LENGTH,
    seed,
    weightType,
    recipe: recipeOf(type),
    variant: shape.variant,
  });
}

export function parseShape(name: string): PeerShape {
  const shape = PEER_SHAPES[name];
  if (!shape) throw new Error(`unknown shape ${name}; choose from ${Object.keys(PEER_SHAPES).join(', ')}`);
  return shape;
}

export function parseFileType(name: string): PeerFileType {
  const type = PEER_FILE_TYPES.find((t) => t === name.trim().toUpperCase());
  if (!type) throw new Error(`unknown file type ${name}; choose from ${PEER_FILE_TYPES.join(', ')}`);
  return type;
}
