#!/usr/bin/env python3
"""The PyTorch + transformers baseline of the GPU benchmark (the SnapKV paper's baseline).

Builds Qwen2ForCausalLM from a Qwen2Config of a real model shape with random bf16
weights (speed does not depend on what the weights learned), full DynamicCache,
attention through SDPA (or flash_attention_2 when that package is importable), and
measures on the same device:

  limits   bf16 matrix rate (torch.matmul n x n x n, TFLOP/s) and device-to-device copy
           bandwidth (Tensor.copy_, GB/s counting bytes read plus bytes written)
  prefill  tokens/s for each prefill length, logits for the last token only
  decode   ms/token from a full cache of each decode length
  ttft     time from a 64-token question to its first token against a prefilled prefix

Every figure is the median of repeated runs after warm-ups, timed with CUDA events on
a GPU (a host clock on the CPU). A row that runs out of memory is recorded as "OOM";
a prefill that does not fit in one shot is retried in chunks and says so.

  python3 bench/gpu/torch_bench.py [--device cuda|cpu] [--shapes a,b] [--lengths 8192,32768]
          [--prefill-lengths ...] [--decode-lengths ...] [--ttft-prefix N] [--out FILE] [--quick]

Prints one JSON object (also written to --out, rewritten after every row so that a
run cut short still leaves what it measured). Progress goes to stderr.
"""
import argparse
import gc
import importlib.util
import inspect
import json
import platform
import statistics
import sys
import time

SHAPES = {
    "qwen2.5-coder-1.5b": dict(hidden=1536, layers=28, heads=12, kv_heads=2, head_dim=128, ffn=8960,
                               vocab=151936, rope_theta=1e6, rms_eps=1e-6, tied=True),
    "qwen2.5-coder-7b": dict(hidden=3584, layers=28, heads=28, kv_heads=4, head_dim=128, ffn=18944,
                             vocab=152064, rope_theta=1e6, rms_eps=1e-6, tied=False),
    # The same tiny shape as snapkv-write-model's, for smoke runs on a CPU.
    "tiny": dict(hidden=128, layers=2, heads=4, kv_heads=2, head_dim=32, ffn=256,
                 vocab=2048, rope_theta=1e6, rms_eps=1e-6, tied=False),
}

DEFAULTS = dict(shapes="qwen2.5-coder-1.5b,qwen2.5-coder-7b", prefill_lengths="8192,32768,131072",
                decode_lengths="16384,65536,131072", ttft_prefix=131072, question=64, decode_steps=64,
                decode_warmups=8, repeats=3, warmups=1, matmul_n=8192, copy_mib=2048, limit_repeats=20)
QUICK = dict(shapes="tiny", prefill_lengths="256,512", decode_lengths="256,512", ttft_prefix=512,
             question=64, decode_steps=16, decode_warmups=2, repeats=2, warmups=1, matmul_n=512,
             copy_mib=64, limit_repeats=5)

# Chunk sizes tried, in order, when a one-shot prefill runs out of memory (those
# shorter than the prompt).
FALLBACK_CHUNKS = (16384, 4096, 1024)


def log(message):
    print(f"[torch-bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--shapes")
    p.add_argument("--lengths", help="prefill and decode lengths at once")
    p.add_argument("--prefill-lengths")
    p.add_argument("--decode-lengths")
    p.add_argument("--ttft-prefix", type=int)
    p.add_argument("--question", type=int)
    p.add_argument("--decode-steps", type=int)
    p.add_argument("--repeats", type=int)
    p.add_argument("--matmul-n", type=int)
    p.add_argument("--copy-mib", type=int)
    p.add_argument("--attn", default="auto", choices=("auto", "sdpa", "flash_attention_2", "eager"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-limits", action="store_true", help="skip the matmul and copy measurements")
    p.add_argument("--quick", action="store_true", help="tiny shape and lengths: a smoke run")
    p.add_argument("--out", help="also write the JSON here")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    for key, value in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.lengths:
        args.prefill_lengths = args.decode_lengths = args.lengths
    args.shapes = [s for s in str(args.shapes).split(",") if s]
    for shape in args.shapes:
        if shape not in SHAPES:
            p.error(f"unknown shape {shape}; choose from {', '.join(SHAPES)}")
    args.prefill_lengths = [int(x) for x in str(args.prefill_lengths).split(",") if x]
    args.decode_lengths = [int(x) for x in str(args.decode_lengths).split(",") if x]
    return args


class Report:
    """The JSON result, rewritten to --out after every row."""

    def __init__(self, path, data):
        self.path = path
        self.data = data

    def save(self):
        if self.path:
            with open(self.path, "w", encoding="utf-8") as f:
                json.dump(self.data, f, indent=1)
                f.write("\n")

    def finish(self):
        self.data["finishedAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.save()
        print(json.dumps(self.data))


def main(argv):
    args = parse_args(argv)
    report = Report(args.out, {
        "tool": "bench/gpu/torch_bench.py", "device": args.device, "python": platform.python_version(),
        "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "argv": argv,
        "settings": {k: getattr(args, k) for k in ("prefill_lengths", "decode_lengths", "ttft_prefix", "question",
                                                    "decode_steps", "decode_warmups", "repeats", "warmups")},
        "limits": None, "shapes": [], "skipped": None,
    })
    try:
        import torch
    except Exception as error:  # ImportError, or a broken install
        report.data["skipped"] = f"torch is not importable: {error}"
        report.finish()
        return 0
    report.data["torch"] = torch.__version__
    if args.device == "cuda" and not torch.cuda.is_available():
        report.data["skipped"] = f"CUDA is not available to torch {torch.__version__}"
        report.finish()
        return 0
    device = torch.device(args.device)
    if device.type == "cuda":
        report.data["gpu"] = torch.cuda.get_device_name(device)
        report.data["cudaRuntime"] = torch.version.cuda
    torch.manual_seed(args.seed)
    timer = Timer(torch, device)
    oom = oom_errors(torch)

    with torch.inference_mode():
        if not args.no_limits:
            report.data["limits"] = measure_limits(torch, device, timer, args, oom)
            report.save()
        try:
            import transformers
            from transformers import Qwen2Config, Qwen2ForCausalLM
        except Exception as error:
            report.data["skipped"] = f"transformers is not importable: {error}"
            report.finish()
            return 0
        report.data["transformers"] = transformers.__version__
        for name in args.shapes:
            result = {"shape": name, "config": SHAPES[name]}
            report.data["shapes"].append(result)
            bench_shape(torch, device, timer, oom, args, name, Qwen2Config, Qwen2ForCausalLM, result, report)
            release(torch, device)
    report.finish()
    return 0


class Timer:
    """Milliseconds of device work: CUDA events on a GPU, the host clock on a CPU."""

    def __init__(self, torch, device):
        self.torch = torch
        self.cuda = device.type == "cuda"

    def time_ms(self, work):
        if self.cuda:
            start = self.torch.cuda.Event(enable_timing=True)
            end = self.torch.cuda.Event(enable_timing=True)
            start.record()
            work()
            end.record()
            end.synchronize()
            return start.elapsed_time(end)
        begin = time.perf_counter()
        work()
        return (time.perf_counter() - begin) * 1e3

    def repeat(self, work, warmups, repeats):
        for _ in range(warmups):
            work()
        runs = [self.time_ms(work) for _ in range(repeats)]
        return {"medianMs": statistics.median(runs), "runsMs": runs, "warmups": warmups}


def oom_errors(torch):
    errors = [MemoryError]
    if hasattr(torch, "OutOfMemoryError"):
        errors.append(torch.OutOfMemoryError)
    if hasattr(torch.cuda, "OutOfMemoryError"):
        errors.append(torch.cuda.OutOfMemoryError)
    return tuple(errors)


def describe(error):
    return f"{type(error).__name__}: {error}".splitlines()[0][:300]


def release(torch, device):
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def measure_limits(torch, device, timer, args, oom):
    limits = {}
    n = args.matmul_n
    try:
        a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
        b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
        c = torch.empty(n, n, device=device, dtype=torch.bfloat16)
        timing = timer.repeat(lambda: torch.matmul(a, b, out=c), 3, args.limit_repeats)
        limits["matmul"] = {"n": n, "dtype": "bfloat16", **timing,
                            "tflops": 2 * n ** 3 / (timing["medianMs"] / 1e3) / 1e12}
        log(f"bf16 matmul {n}^3: {limits['matmul']['tflops']:.1f} TFLOP/s")
        del a, b, c
    except oom:
        limits["matmul"] = {"n": n, "error": "OOM"}
    release(torch, device)
    elements = args.copy_mib * (1 << 20) // 2
    try:
        src = torch.randn(elements, device=device, dtype=torch.bfloat16)
        dst = torch.empty_like(src)
        timing = timer.repeat(lambda: dst.copy_(src), 3, args.limit_repeats)
        moved = 2 * 2 * elements
        limits["copy"] = {"bytes": 2 * elements, "bytesMoved": moved, **timing,
                          "gbps": moved / (timing["medianMs"] / 1e3) / 1e9}
        log(f"copy {args.copy_mib} MiB: {limits['copy']['gbps']:.0f} GB/s (read + write)")
        del src, dst
    except oom:
        limits["copy"] = {"bytes": 2 * elements, "error": "OOM"}
    release(torch, device)
    return limits


def attention_choice(requested):
    if requested != "auto":
        return requested
    return "flash_attention_2" if importlib.util.find_spec("flash_attn") is not None else "sdpa"


def make_config(Qwen2Config, shape, context, attn):
    kwargs = dict(vocab_size=shape["vocab"], hidden_size=shape["hidden"], intermediate_size=shape["ffn"],
                  num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
                  num_key_value_heads=shape["kv_heads"], max_position_embeddings=context,
                  rms_norm_eps=shape["rms_eps"], tie_word_embeddings=shape["tied"], use_cache=True)
    # transformers 5 moved the RoPE base into rope_parameters; 4.x takes rope_theta.
    params = inspect.signature(Qwen2Config.__init__).parameters
    if "rope_parameters" in params:
        kwargs["rope_parameters"] = {"rope_type": "default", "rope_theta": shape["rope_theta"]}
    else:
        kwargs["rope_theta"] = shape["rope_theta"]
    try:
        config = Qwen2Config(**kwargs)
    except TypeError:
        # A transformers that takes neither: its default RoPE base (speed does not depend on it).
        kwargs.pop("rope_parameters", None)
        kwargs.pop("rope_theta", None)
        config = Qwen2Config(**kwargs)
    config._attn_implementation = attn
    return config


def build_model(torch, device, Qwen2Config, Qwen2ForCausalLM, shape, context, attn):
    config = make_config(Qwen2Config, shape, context, attn)
    previous = torch.get_default_dtype()
    # Parameters are created in bf16 on the device directly: a 7B model in f32
    # on the host first would take minutes and 30 GB.
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def logits_keyword(model):
    params = inspect.signature(model.forward).parameters
    if "logits_to_keep" in params:
        return {"logits_to_keep": 1}
    if "num_logits_to_keep" in params:
        return {"num_logits_to_keep": 1}
    # Older transformers: full logits; the rows say so.
    return {}


def crop(cache, length):
    if not hasattr(cache, "crop"):
        raise RuntimeError("this transformers' cache has no crop(); decode and TTFT rows need it")
    cache.crop(length)


def bench_shape(torch, device, timer, oom, args, name, Qwen2Config, Qwen2ForCausalLM, result, report):
    shape = SHAPES[name]
    longest = max([*args.prefill_lengths, *args.decode_lengths, args.ttft_prefix + args.question]) + args.decode_steps + 64
    attn = attention_choice(args.attn)
    began = time.perf_counter()
    try:
        model = build_model(torch, device, Qwen2Config, Qwen2ForCausalLM, shape, longest, attn)
    except oom:
        result["error"] = "OOM building the model"
        report.save()
        return
    except Exception as error:
        result["error"] = f"building the model failed: {describe(error)}"
        log(f"{name}: {result['error']}")
        report.save()
        return
    result["buildSeconds"] = time.perf_counter() - began
    result["parameters"] = sum(p.numel() for p in model.parameters())
    result["attention"] = getattr(model.config, "_attn_implementation", attn)
    result["dtype"] = str(next(model.parameters()).dtype).replace("torch.", "")
    keep = logits_keyword(model)
    result["logits"] = "last token only" if keep else "every token (this transformers has no logits_to_keep)"
    result["cache"] = "DynamicCache (transformers' default: grows by torch.cat)"
    log(f"{name}: {result['parameters'] / 1e9:.2f}B parameters, {result['attention']}, built in {result['buildSeconds']:.1f} s")
    vocab = shape["vocab"]
    generator = torch.Generator(device="cpu").manual_seed(args.seed)

    def tokens(n):
        return torch.randint(0, vocab, (1, n), generator=generator).to(device)

    def prefill(ids, chunk):
        cache = None
        logits = None
        step = chunk or ids.shape[1]
        for start in range(0, ids.shape[1], step):
            out = model(input_ids=ids[:, start:start + step], past_key_values=cache, use_cache=True, **keep)
            cache, logits = out.past_key_values, out.logits
        return cache, logits

    def prefill_fitting(ids):
        """A prefill and its mode: one shot, else the first chunk size that fits."""
        for chunk in (None, *(c for c in FALLBACK_CHUNKS if c < ids.shape[1])):
            try:
                cache, logits = prefill(ids, chunk)
                return cache, logits, chunk
            except oom:
                release(torch, device)
        raise MemoryError("out of memory at every chunk size")

    def mode_name(chunk):
        return "one shot" if chunk is None else f"chunked ({chunk} tokens; one shot ran out of memory)"

    result["prefill"] = []
    for n in args.prefill_lengths:
        row = {"tokens": n}
        result["prefill"].append(row)
        try:
            ids = tokens(n)
            cache, _, chunk = prefill_fitting(ids)  # the warm-up, and the mode that fits
            del cache
            timing = timer.repeat(lambda: prefill(ids, chunk), args.warmups - 1 if args.warmups > 0 else 0, args.repeats)
            row.update(timing, mode=mode_name(chunk), tokensPerSecond=n / (timing["medianMs"] / 1e3))
            log(f"{name}: prefill {n}: {row['tokensPerSecond']:.0f} tokens/s ({row['mode']})")
        except oom:
            row["error"] = "OOM"
            log(f"{name}: prefill {n}: OOM")
        except Exception as error:
            row["error"] = describe(error)
            log(f"{name}: prefill {n}: {row['error']}")
        release(torch, device)
        report.save()

    result["decode"] = []
    result["ttft"] = None
    prefix_length = max([*args.decode_lengths, args.ttft_prefix])
    try:
        ids = tokens(prefix_length)
        cache, logits, chunk = prefill_fitting(ids)
        result["longPrefill"] = {"tokens": prefix_length, "mode": mode_name(chunk)}
        del ids
    except oom:
        result["longPrefill"] = {"tokens": prefix_length, "error": "OOM"}
        log(f"{name}: the {prefix_length}-token prefix for decode and TTFT does not fit")
        report.save()
        del model
        return
    except Exception as error:
        result["longPrefill"] = {"tokens": prefix_length, "error": describe(error)}
        log(f"{name}: the {prefix_length}-token prefix failed: {describe(error)}")
        report.save()
        del model
        return
    next_token = logits[:, -1:].argmax(-1)

    question = tokens(args.question)
    ttft = {"prefix": args.ttft_prefix, "question": args.question}
    result["ttft"] = ttft
    try:
        crop(cache, args.ttft_prefix)

        def ask():
            out = model(input_ids=question, past_key_values=cache, use_cache=True, **keep)
            first = out.logits[:, -1:].argmax(-1)
            crop(cache, args.ttft_prefix)
            return first

        ttft.update(timer.repeat(ask, max(1, args.warmups), args.repeats + 2))
        log(f"{name}: time to first token, {args.question}-token question against {args.ttft_prefix}: {ttft['medianMs']:.1f} ms")
    except oom:
        ttft["error"] = "OOM"
    except Exception as error:
        ttft["error"] = describe(error)
    report.save()

    for context in sorted(args.decode_lengths, reverse=True):
        row = {"context": context, "steps": args.decode_steps}
        result["decode"].append(row)
        try:
            crop(cache, context)
            times = []
            token = next_token
            began = time.perf_counter()
            for step in range(args.decode_warmups + args.decode_steps):
                holder = {}

                def step_once():
                    out = model(input_ids=token, past_key_values=cache, use_cache=True, **keep)
                    holder["next"] = out.logits[:, -1:].argmax(-1)

                elapsed = timer.time_ms(step_once)
                token = holder["next"]
                # Back to the same context, so every step reads `context` cached positions.
                crop(cache, context)
                if step == args.decode_warmups - 1:
                    began = time.perf_counter()
                if step >= args.decode_warmups:
                    times.append(elapsed)
            wall = (time.perf_counter() - began) * 1e3 / args.decode_steps
            row.update(medianMsPerToken=statistics.median(times), runsMs=times, wallMsPerToken=wall)
            log(f"{name}: decode at {context}: {row['medianMsPerToken']:.2f} ms/token")
        except oom:
            row["error"] = "OOM"
        except Exception as error:
            row["error"] = describe(error)
        report.save()
    result["decode"].sort(key=lambda r: r["context"])
    del cache, model
    release(torch, device)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
