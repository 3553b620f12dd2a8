"""Writes a checkpoint of the demonstration model with random weights, in train.py's format
(model.safetensors + probe.json), so the export path can be proven without training:

  python training/random_checkpoint.py --out /tmp/random-run [--config training/config.json] [--seed 3]
  node out/training/src/export-gguf.js --weights /tmp/random-run/model.safetensors \
    --out /tmp/random.gguf --type F32 --probe /tmp/random-run/probe.json

Every parameter is random (norm weights around 1, biases around 0), scaled so activations stay
of order one and attention is neither uniform nor one-hot: a mix-up of RoPE layout, GQA head
mapping or a transposed weight then shows in the logits. Runs on the CPU in seconds.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import DemoModel, ModelConfig  # noqa: E402
from train import PROBE_TOKENS, export_weights, load_vocab, probe  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--config", default=os.path.join(here, "config.json"))
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    mc = ModelConfig.from_dict(config["model"])
    _, vocab_sha = load_vocab()
    model = DemoModel(mc)
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=g)
            if name.endswith("norm.weight"):
                param.copy_(1 + 0.1 * noise)
            elif name.endswith(".bias"):
                param.copy_(0.1 * noise)
            elif name == "model.embed_tokens.weight":
                param.copy_(noise * (2 / math.sqrt(mc.hidden_size)))
            else:
                param.copy_(noise * (1.5 / math.sqrt(param.shape[1])))
    os.makedirs(args.out, exist_ok=True)
    export_weights(model, args.out, config["model"], vocab_sha, {"random_seed": args.seed})
    tokens = torch.randint(0, mc.vocab_size - 3, (PROBE_TOKENS,), generator=g).tolist()
    with open(os.path.join(args.out, "probe.json"), "w") as f:
        json.dump(probe(model, tokens, "cpu"), f)


if __name__ == "__main__":
    main()
