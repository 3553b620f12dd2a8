"""Trains the demonstration model (training/config.json) on the generated JSONL shards.

  python training/train.py --data training/data/compact --out training/runs/demo [--minutes 7]

Runs on one GPU (bf16 autocast, flash attention through torch's scaled_dot_product_attention)
or, slowly, on the CPU for a smoke test. Seeded: the same config and data give the same
batches. With a time budget (--minutes, or train.time_minutes) the learning-rate schedule and the
length curriculum follow the clock, so the run ends on time on any GPU; without one they follow
the steps. A run stops at --max-minutes with a checkpoint and continues from it when started
again with the same --out, so it fits machines that allow only a few minutes per command.
When the run is done it writes, in --out:
  model-0000k-of-0000n.safetensors
                     the weights, float32, Hugging Face Qwen2 names (model.py), in shards of at
                     most 15 MiB; the model config in each header's __metadata__ ("snapkv.model_config")
  probe.json         float32 logits of the last token of a fixed prompt, for the exporter's check
  summary.json       settings, steps, tokens, minutes, validation accuracy by prompt length
"""
import argparse
import contextlib
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import CurriculumSampler, load_examples, make_batch, max_tokens_at  # noqa: E402
from model import DemoModel, ModelConfig, parameter_count  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB_PATH = os.path.join(HERE, "tokenizer", "snapkv-demo-vocab.json")
LENGTH_BUCKETS = (2048, 4096, 8192, 16384, 1 << 30)
PROBE_TOKENS = 64


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="folder with train-NNNNN.jsonl and val-NNNNN.jsonl shards")
    p.add_argument("--out", required=True, help="run folder: checkpoint, weights, summary")
    p.add_argument("--config", default=os.path.join(HERE, "config.json"))
    p.add_argument("--steps", type=int, help="override train.steps (the most steps; all of them when there is no time budget)")
    p.add_argument("--minutes", type=float, help="override train.time_minutes: the training's time budget, excluding data loading")
    p.add_argument("--tokens-per-batch", type=int, help="override train.tokens_per_batch")
    p.add_argument("--max-minutes", type=float, default=None, help="stop with a checkpoint after this many minutes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (faster on a GPU, slower to start)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in --out")
    p.add_argument("--init-from", help="start from the weights of this checkpoint.pt (a new plan: fresh optimizer, schedule and step count)")
    return p.parse_args()


def load_vocab():
    with open(VOCAB_PATH, "rb") as f:
        raw = f.read()
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def lr_at(step, progress, t):
    """Linear warmup over the first steps, then a cosine over the run's progress to min_lr_fraction."""
    warmup = min(1.0, (step + 1) / t["warmup_steps"])
    floor = t["min_lr_fraction"]
    return t["lr"] * warmup * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def run_progress(step, minutes, t):
    """0..1: by the clock when the run has a time budget (so it ends on time whatever the GPU's
    speed), else by steps."""
    if t.get("time_minutes"):
        return min(1.0, minutes / t["time_minutes"])
    return step / t["steps"]


def make_optimizer(model, t, device):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": t["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    # fused AdamW is torch 2's and CUDA's; torch 1.13 on the CPU takes the default implementation.
    extra = {"fused": True} if device.startswith("cuda") else {}
    return torch.optim.AdamW(groups, lr=t["lr"], betas=tuple(t["betas"]), **extra)


def losses(model, hidden_fn, batch, device, autocast):
    inputs = torch.from_numpy(batch.inputs).to(device, non_blocking=True)
    with autocast():
        hidden = hidden_fn(inputs)
    flat = hidden.reshape(-1, hidden.shape[-1])
    answer_logits = model.logits(flat[torch.from_numpy(batch.answer_positions).to(device)]).float()
    answer_targets = torch.from_numpy(batch.answer_targets).to(device)
    answer_loss = F.cross_entropy(answer_logits, answer_targets)
    lm_loss = None
    if len(batch.lm_positions):
        lm_logits = model.logits(flat[torch.from_numpy(batch.lm_positions).to(device)]).float()
        lm_loss = F.cross_entropy(lm_logits, torch.from_numpy(batch.lm_targets).to(device))
    return answer_loss, lm_loss, answer_logits, answer_targets


@torch.no_grad()
def evaluate(model, hidden_fn, examples, indices, t, pad_id, device, autocast):
    """Teacher-forced exact match: every answer token is the argmax given the ones before it,
    which is exactly when greedy decoding reproduces the answer."""
    model.eval()
    correct = {b: 0 for b in LENGTH_BUCKETS}
    total = {b: 0 for b in LENGTH_BUCKETS}
    order = sorted(indices, key=lambda i: int(examples.prompt_lengths[i]))
    rng = np.random.default_rng(0)
    at = 0
    while at < len(order):
        width = int(examples.prompt_lengths[order[at]]) + 64
        size = max(1, t["tokens_per_batch"] // width)
        chunk = order[at : at + size]
        at += size
        batch = make_batch(examples, chunk, pad_id, t["bucket_tokens"], 0.0, rng)
        _, _, logits, targets = losses(model, hidden_fn, batch, device, autocast)
        hits = (logits.argmax(-1) == targets).cpu().numpy()
        for row, i in enumerate(chunk):
            first, end = batch.answer_rows[row]
            bucket = next(b for b in LENGTH_BUCKETS if examples.prompt_lengths[i] <= b)
            total[bucket] += 1
            correct[bucket] += int(hits[first:end].all())
    model.train()
    result = {f"<={b}" if b < (1 << 30) else "longer": round(correct[b] / total[b], 4) for b in LENGTH_BUCKETS if total[b]}
    result["all"] = round(sum(correct.values()) / max(1, sum(total.values())), 4)
    return result


def save_checkpoint(path, model, optimizer, sampler, step, tokens_seen, minutes):
    tmp = path + ".tmp"
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "sampler_rng": sampler.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "step": step,
            "tokens_seen": tokens_seen,
            "minutes": minutes,
        },
        tmp,
    )
    os.replace(tmp, path)


@torch.no_grad()
def probe(model, tokens, device):
    """float32 logits of the last token, TF32 off: what the exporter compares the engine with."""
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    model.eval()
    logits = model(torch.tensor([tokens], dtype=torch.long, device=device))[0, -1].float().cpu().numpy()
    model.train()
    return {"tokens": [int(x) for x in tokens], "last_logits": [float(x) for x in logits]}


WEIGHT_SHARD_BYTES = 15 * 1024 * 1024


def export_weights(model, out, config_dict, vocab_sha, extra):
    """float32 weights as model-0000k-of-0000n.safetensors, each at most 15 MiB (files that big
    come back from the GPU machine; the exporter reads all shards of a folder). Every shard
    carries the config."""
    tensors = {name: p.detach().float().cpu().numpy() for name, p in model.state_dict().items()}
    metadata = {
        "format": "pt",
        "snapkv.model_config": json.dumps(config_dict),
        "snapkv.vocab_sha256": vocab_sha,
        "snapkv.train": json.dumps(extra),
    }
    shards, current, size = [], {}, 0
    for name in sorted(tensors):
        nbytes = tensors[name].nbytes
        if nbytes > WEIGHT_SHARD_BYTES:
            # A tensor larger than a shard is split along its rows into parts "<name>@part<k>".
            rows = max(1, WEIGHT_SHARD_BYTES // (nbytes // tensors[name].shape[0]))
            for k, first in enumerate(range(0, tensors[name].shape[0], rows)):
                shards.append({f"{name}@part{k}": tensors[name][first : first + rows]})
            continue
        if size + nbytes > WEIGHT_SHARD_BYTES and current:
            shards.append(current)
            current, size = {}, 0
        current[name] = tensors[name]
        size += nbytes
    if current:
        shards.append(current)
    for old in os.listdir(out):
        if old.startswith("model-") and old.endswith(".safetensors"):
            os.remove(os.path.join(out, old))
    for k, shard in enumerate(shards):
        write_safetensors(os.path.join(out, f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"), shard, metadata)


def main():
    args = parse_args()
    with open(args.config) as f:
        config = json.load(f)
    t = dict(config["train"])
    if args.steps is not None:
        t["steps"] = args.steps
    if args.minutes is not None:
        t["time_minutes"] = args.minutes
    if args.tokens_per_batch is not None:
        t["tokens_per_batch"] = args.tokens_per_batch
    mc = ModelConfig.from_dict(config["model"])
    vocab, vocab_sha = load_vocab()
    if len(vocab["tokens"]) != mc.vocab_size:
        raise SystemExit(f"config vocab_size {mc.vocab_size} differs from the vocabulary's {len(vocab['tokens'])} tokens")
    pad_id = vocab["paddingTokenId"]
    os.makedirs(args.out, exist_ok=True)
    device = args.device
    torch.manual_seed(t["seed"])
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    started = time.time()
    train = load_examples(args.data, "train")
    val = load_examples(args.data, "val")
    print(f"data: {len(train)} train, {len(val)} val examples ({time.time() - started:.0f} s)", flush=True)
    eval_indices = list(range(min(t["eval_examples"], len(val))))

    model = DemoModel(mc)
    model.init_weights(torch.Generator().manual_seed(t["seed"]))
    model.to(device)
    print(f"model: {parameter_count(model):,} parameters on {device}", flush=True)
    optimizer = make_optimizer(model, t, device)
    sampler = CurriculumSampler(train, t["tokens_per_batch"], t["bucket_tokens"], t["seed"])
    lm_rng = np.random.default_rng(t["seed"] + 1)
    step, tokens_seen, minutes_before = 0, 0, 0.0
    checkpoint = os.path.join(args.out, "checkpoint.pt")
    resuming = os.path.exists(checkpoint) and not args.fresh
    if args.init_from and not resuming:
        model.load_state_dict(torch.load(args.init_from, map_location=device)["model"])
        print(f"weights from {args.init_from}", flush=True)
    if resuming:
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        sampler.rng.bit_generator.state = state["sampler_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, tokens_seen, minutes_before = state["step"], state["tokens_seen"], state["minutes"]
        lm_rng = np.random.default_rng([t["seed"] + 1, step])
        print(f"resumed at step {step} ({tokens_seen:,} tokens, {minutes_before:.1f} min before)", flush=True)
    # Only the decoder is compiled: the loss gathers a few positions and runs the LM head on them alone.
    hidden_fn = torch.compile(model.hidden_states, dynamic=True) if args.compile else model.hidden_states
    # bf16 autocast on the GPU; plain float32 on the CPU (a smoke test, where speed does not matter).
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.startswith("cuda") else contextlib.nullcontext

    log_path = os.path.join(args.out, "train-log.jsonl")
    run_started = time.time()
    last_checkpoint = run_started
    window_tokens, window_started = 0, time.time()
    history = []
    while True:
        progress = run_progress(step, minutes_before + (time.time() - run_started) / 60, t)
        if progress >= 1 or step >= t["steps"]:
            break
        max_tokens = max_tokens_at(t["curriculum"], progress)
        indices = sampler.draw(max_tokens)
        batch = make_batch(train, indices, pad_id, t["bucket_tokens"], t["lm_positions_fraction"], lm_rng)
        lr = lr_at(step, progress, t)
        for group in optimizer.param_groups:
            group["lr"] = lr
        answer_loss, lm_loss, _, _ = losses(model, hidden_fn, batch, device, autocast)
        loss = answer_loss + (t["lm_loss_weight"] * lm_loss if lm_loss is not None else 0.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
        optimizer.step()
        step += 1
        tokens = int(batch.inputs.size)
        tokens_seen += tokens
        window_tokens += tokens
        history.append((float(answer_loss.detach()), float(lm_loss.detach()) if lm_loss is not None else 0.0))
        if step % 20 == 0:
            elapsed = time.time() - window_started
            a = sum(h[0] for h in history) / len(history)
            m = sum(h[1] for h in history) / len(history)
            record = {"step": step, "progress": round(progress, 4), "answer_loss": round(a, 4), "lm_loss": round(m, 4), "lr": round(lr, 6),
                      "grad_norm": round(float(grad_norm), 3), "max_tokens": max_tokens,
                      "tokens_per_s": round(window_tokens / max(elapsed, 1e-9)), "tokens_seen": tokens_seen}
            print(json.dumps(record), flush=True)
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            history, window_tokens, window_started = [], 0, time.time()
        if step % t["eval_every"] == 0:
            accuracy = evaluate(model, hidden_fn, val, eval_indices, t, pad_id, device, autocast)
            record = {"step": step, "val_exact_match": accuracy}
            print(json.dumps(record), flush=True)
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        now = time.time()
        minutes = minutes_before + (now - run_started) / 60
        out_of_time = args.max_minutes is not None and (now - run_started) / 60 >= args.max_minutes
        if out_of_time or (now - last_checkpoint) / 60 >= t["checkpoint_minutes"]:
            save_checkpoint(checkpoint, model, optimizer, sampler, step, tokens_seen, minutes)
            last_checkpoint = now
            if out_of_time:
                print(f"stopped at step {step} after {args.max_minutes} minutes; run again with the same --out to continue", flush=True)
                return

    minutes = minutes_before + (time.time() - run_started) / 60
    # The finished state, so that running the same command again re-exports instead of training on.
    save_checkpoint(checkpoint, model, optimizer, sampler, step, tokens_seen, minutes)
    accuracy = evaluate(model, hidden_fn, val, list(range(len(val))), t, pad_id, device, autocast)
    summary = {
        "parameters": parameter_count(model),
        "model": config["model"],
        "train": t,
        "steps": step,
        "tokens_seen": tokens_seen,
        "minutes": round(minutes, 2),
        "device": torch.cuda.get_device_name() if device.startswith("cuda") else device,
        "val_exact_match": accuracy,
        "vocab_sha256": vocab_sha,
    }
    export_weights(model, args.out, config["model"], vocab_sha, {k: summary[k] for k in ("steps", "tokens_seen", "minutes", "val_exact_match")})
    with open(os.path.join(args.out, "probe.json"), "w") as f:
        json.dump(probe(model, val.sequence(0)[:PROBE_TOKENS].tolist(), device), f)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps({"done": True, "minutes": summary["minutes"], "val_exact_match": accuracy}), flush=True)


if __name__ == "__main__":
    main()
