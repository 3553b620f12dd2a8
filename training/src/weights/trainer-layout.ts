// The weights as train.py (model.py) saves them: Hugging Face Qwen2 parameter names, torch
// shapes ([out, in] for a Linear), and the model config in the safetensors metadata. Also the
// name of each in a GGUF file. No layout change is needed beyond the names: torch's row-major
// [out, in] is GGUF's [ne0 = in, ne1 = out], and model.py rotates RoPE in halves, the qwen2
// GGUF layout.

export interface TrainedModelConfig {
  readonly architecture: 'qwen2';
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly num_layers: number;
  readonly num_heads: number;
  readonly num_kv_heads: number;
  readonly head_dim: number;
  readonly ffn_size: number;
  readonly rope_base: number;
  readonly rms_eps: number;
  readonly tied_embeddings: boolean;
  readonly context_length: number;
}

/** The safetensors metadata key that holds the config as JSON. */
export const CONFIG_METADATA_KEY = 'snapkv.model_config';

export interface TrainerTensor {
  /** model.py's parameter name. */
  readonly name: string;
  /** torch shape, outermost first. */
  readonly shape: readonly number[];
  /** The tensor's name in a GGUF file. */
  readonly ggufName: string;
}

export function trainerTensors(c: TrainedModelConfig): TrainerTensor[] {
  const q = c.num_heads * c.head_dim;
  const kv = c.num_kv_heads * c.head_dim;
  const out: TrainerTensor[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, c.hidden_size], ggufName: 'token_embd.weight' }];
  for (let i = 0; i < c.num_layers; i++) {
    const t = `model.layers.${i}`;
    const b = `blk.${i}`;
    out.push(
      { name: `${t}.input_layernorm.weight`, shape: [c.hidden_size], ggufName: `${b}.attn_norm.weight` },
      { name: `${t}.self_attn.q_proj.weight`, shape: [q, c.hidden_size], ggufName: `${b}.attn_q.weight` },
      { name: `${t}.self_attn.q_proj.bias`, shape: [q], ggufName: `${b}.attn_q.bias` },
      { name: `${t}.self_attn.k_proj.weight`, shape: [kv, c.hidden_size], ggufName: `${b}.attn_k.weight` },
      { name: `${t}.self_attn.k_proj.bias`, shape: [kv], ggufName: `${b}.attn_k.bias` },
      { name: `${t}.self_attn.v_proj.weight`, shape: [kv, c.hidden_size], ggufName: `${b}.attn_v.weight` },
      { name: `${t}.self_attn.v_proj.bias`, shape: [kv], ggufName: `${b}.attn_v.bias` },
      { name: `${t}.self_attn.o_proj.weight`, shape: [c.hidden_size, q], ggufName: `${b}.attn_output.weight` },
      { name: `${t}.post_attention_layernorm.weight`, shape: [c.hidden_size], ggufName: `${b}.ffn_norm.weight` },
      { name: `${t}.mlp.gate_proj.weight`, shape: [c.ffn_size, c.hidden_size], ggufName: `${b}.ffn_gate.weight` },
      { name: `${t}.mlp.up_proj.weight`, shape: [c.ffn_size, c.hidden_size], ggufName: `${b}.ffn_up.weight` },
      { name: `${t}.mlp.down_proj.weight`, shape: [c.hidden_size, c.ffn_size], ggufName: `${b}.ffn_down.weight` },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [c.hidden_size], ggufName: 'output_norm.weight' });
  return out;
}

export function parameterCount(c: TrainedModelConfig): number {
  return trainerTensors(c).reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

/** Parses and checks the config a checkpoint carries. */
export function parseTrainedModelConfig(json: string, where: string): TrainedModelConfig {
  const value = JSON.parse(json) as Record<string, unknown>;
  const fail = (what: string): never => {
    throw new Error(`${where}: bad model config: ${what}`);
  };
  const positive = (key: string): number => {
    const n = value[key];
    return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : fail(`${key} must be a positive integer`);
  };
  const num = (key: string): number => (typeof value[key] === 'number' ? (value[key] as number) : fail(`${key} must be a number`));
  if ((value.architecture ?? 'qwen2') !== 'qwen2') fail('architecture must be qwen2');
  if (value.tied_embeddings !== true) fail('tied_embeddings must be true (the exporter writes no output.weight)');
  const c: TrainedModelConfig = {
    architecture: 'qwen2',
    vocab_size: positive('vocab_size'),
    hidden_size: positive('hidden_size'),
    num_layers: positive('num_layers'),
    num_heads: positive('num_heads'),
    num_kv_heads: positive('num_kv_heads'),
    head_dim: positive('head_dim'),
    ffn_size: positive('ffn_size'),
    rope_base: num('rope_base'),
    rms_eps: num('rms_eps'),
    tied_embeddings: true,
    context_length: positive('context_length'),
  };
  if (c.num_heads % c.num_kv_heads !== 0) fail('num_heads must be a multiple of num_kv_heads');
  if (c.head_dim % 2 !== 0) fail('head_dim must be even');
  return c;
}
