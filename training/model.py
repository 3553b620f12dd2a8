"""The demonstration model: a small decoder of the qwen2 architecture, written so that its
weights go into a GGUF file unchanged.

  x = embed_tokens[token]
  per layer: h = RMSNorm(x) * input_layernorm
             q, k, v = q_proj(h), k_proj(h), v_proj(h)       (with biases, as qwen2)
             RoPE on q and k, "halves" layout: dimension i pairs with i + head_dim/2 and
               turns by position * base^(-2i/head_dim). This is the layout of qwen2 GGUF files
               (DESIGN.md section 5), so no permutation is needed when exporting; the `llama`
               layout (adjacent pairs) would need one.
             causal attention, GQA: query head h reads KV head h // (heads / kv_heads)
             x += o_proj(attention)
             h = RMSNorm(x) * post_attention_layernorm;  x += down_proj(silu(gate_proj(h)) * up_proj(h))
  logits = embed_tokens^T (RMSNorm(x) * norm)                 (tied embeddings)

Parameter names are those of Hugging Face's Qwen2 checkpoints (model.layers.0.self_attn.q_proj.weight,
...); torch's Linear stores [out, in] row-major, which is GGUF's [ne0 = in, ne1 = out]. The
exporter (training/src/export-gguf.ts) maps the names; test/reference/forward64.ts computes the
same function in float64.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    ffn_size: int
    rope_base: float
    rms_eps: float
    tied_embeddings: bool
    context_length: int
    architecture: str = "qwen2"

    def __post_init__(self):
        if self.architecture != "qwen2":
            raise ValueError("only the qwen2 architecture is built here")
        if self.num_heads % self.num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        if self.head_dim % 2:
            raise ValueError("head_dim must be even for RoPE")
        if not self.tied_embeddings:
            raise ValueError("the exporter expects tied embeddings")

    @staticmethod
    def from_dict(d):
        return ModelConfig(**{k: d[k] for k in ModelConfig.__dataclass_fields__ if k in d})


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        # In float32 whatever the autocast dtype: the engine normalizes in float32 too.
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).to(x.dtype)


def rope_tables(config, length, device, offset=0):
    """cos and sin, [length, head_dim/2], float32, computed in float64 as the reference does."""
    half = config.head_dim // 2
    inv_freq = config.rope_base ** (-2.0 * torch.arange(half, dtype=torch.float64, device=device) / config.head_dim)
    positions = torch.arange(offset, offset + length, dtype=torch.float64, device=device)
    angles = positions[:, None] * inv_freq[None, :]
    return torch.cos(angles).float(), torch.sin(angles).float()


def apply_rope(x, cos, sin):
    """x: [batch, heads, length, head_dim]; rotates (x[i], x[i + head_dim/2]) pairs."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half].float(), x[..., half:].float()
    c, s = cos[None, None], sin[None, None]
    return torch.cat((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).to(x.dtype)


def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v under a causal mask, with GQA: q is [b, heads, t, d], k and v are
    [b, kv_heads, t, d], and query head h reads KV head h // (heads / kv_heads), as in GGUF engines.
    Torch 1.13 (Debian's, for training on the CPU) has no scaled_dot_product_attention, so there
    the product is written out: the query heads of a KV head are stacked as rows of one matmul
    (no repeated keys), and q is scaled before the product rather than the t x t scores."""
    b, heads, t, d = q.shape
    kv_heads = k.shape[1]
    group = heads // kv_heads
    if hasattr(F, "scaled_dot_product_attention"):
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    rows = (q * (1.0 / math.sqrt(d))).reshape(b, kv_heads, group * t, d)
    scores = torch.matmul(rows, k.transpose(-1, -2)).view(b, kv_heads, group, t, t)
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    probs = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
    out = torch.matmul(probs.view(b, kv_heads, group * t, t), v)
    return out.view(b, heads, t, d)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.num_heads * c.head_dim, bias=True)
        self.k_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=True)
        self.v_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=True)
        self.o_proj = nn.Linear(c.num_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(self, x, cos, sin):
        c = self.c
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, c.num_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, c.num_kv_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, c.num_kv_heads, c.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        out = causal_attention(q, k, v)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, c.num_heads * c.head_dim))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.ffn_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.ffn_size, bias=False)
        self.down_proj = nn.Linear(c.ffn_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.num_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_eps)


class DemoModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = Decoder(config)

    def init_weights(self, generator):
        """GPT-2 style: N(0, 0.02), residual outputs scaled down by the depth; biases zero."""
        std = 0.02
        residual_std = std / math.sqrt(2 * self.config.num_layers)
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                nn.init.ones_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=generator) * residual_std)
            else:
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=generator) * std)

    def hidden_states(self, tokens):
        """tokens: [batch, length] -> final normed hidden states [batch, length, hidden]."""
        x = self.model.embed_tokens(tokens)
        cos, sin = rope_tables(self.config, tokens.shape[1], tokens.device)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.model.norm(x)

    def logits(self, hidden):
        return F.linear(hidden, self.model.embed_tokens.weight)

    def forward(self, tokens):
        return self.logits(self.hidden_states(tokens))


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())
