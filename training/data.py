"""Training data: the JSONL shards of training/src/generate-data.ts, packed once into a numpy
cache, and batches of similar lengths drawn under a length curriculum.

Each record holds `prompt` (token ids exactly as the language server builds them: chat head,
file blocks, question suffix) and `target` (the answer's tokens and <|im_end|>). A training
sequence is prompt + target without its last token; the answer loss is on the positions that
predict the target tokens, and on those that predict earlier answers of the conversation
(`followUpAnswerTokens`: spans of the prompt, present when the data has follow-up turns).
"""
import glob
import gzip
import hashlib
import json
import os
import re
import tempfile

import numpy as np


class Examples:
    """All records of one split: tokens of prompt + target, concatenated."""

    def __init__(self, tokens, starts, prompt_lengths, target_lengths, kinds, depths, span_offsets, spans):
        self.tokens = tokens
        # Follow-up answer spans of example i: spans[span_offsets[i]:span_offsets[i + 1]], rows [start, end).
        self.span_offsets = span_offsets
        self.spans = spans
        self.starts = starts
        self.prompt_lengths = prompt_lengths
        self.target_lengths = target_lengths
        self.kinds = kinds
        self.depths = depths

    def __len__(self):
        return len(self.starts)

    def follow_up_spans(self, i):
        return self.spans[self.span_offsets[i] : self.span_offsets[i + 1]]

    def sequence(self, i):
        s = self.starts[i]
        return self.tokens[s : s + self.prompt_lengths[i] + self.target_lengths[i]]


def shard_paths(data_dir, split):
    """Full shards (<split>-NNNNN.jsonl) or, failing those, compact ones (<split>-NNNNN.compact.jsonl.gz)."""
    for pattern in (r"-\d{5}\.jsonl$", r"-\d{5}\.compact\.jsonl\.gz$"):
        paths = sorted(p for p in glob.glob(os.path.join(data_dir, f"{split}-*")) if re.search(pattern, p))
        if paths:
            return paths
    raise FileNotFoundError(f"no {split}-NNNNN.jsonl or .compact.jsonl.gz shards in {data_dir}: run generate-data first (training/README.md)")


def read_records(data_dir, split, paths):
    """Yields (prompt, record) for every example; compact records are rebuilt from the block table."""
    if paths[0].endswith(".jsonl"):
        for path in paths:
            with open(path, "r", encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        r = json.loads(line)
                        yield np.asarray(r["prompt"], dtype=np.int32), r
        return
    with open(os.path.join(data_dir, f"{split}-blocks.json"), "r", encoding="utf-8") as f:
        table = json.load(f)
    block_tokens = np.fromfile(os.path.join(data_dir, f"{split}-blocks.u16"), dtype="<u2").astype(np.int32)
    head = np.asarray(table["head"], dtype=np.int32)
    blocks = [block_tokens[b["offset"] : b["offset"] + b["length"]] for b in table["blocks"]]
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    prompt = np.concatenate([head] + [blocks[i] for i in r["blocks"]] + [np.asarray(r["suffix"], dtype=np.int32)])
                    if len(prompt) != r["promptLength"]:
                        raise ValueError(f"{path}: {r['id']} rebuilds to {len(prompt)} tokens, promptLength says {r['promptLength']}")
                    yield prompt, r


def load_examples(data_dir, split):
    """Reads the shards once; later calls load an .npz cache kept in the temporary folder (not
    beside the shards: a data folder carried to another machine must stay small)."""
    paths = shard_paths(data_dir, split)
    key = json.dumps(["v2"] + [[os.path.basename(p), os.path.getsize(p)] for p in paths])
    cache_dir = os.path.join(tempfile.gettempdir(), "snapkv-train-cache")
    os.makedirs(cache_dir, exist_ok=True)
    digest = hashlib.sha256((os.path.abspath(data_dir) + key).encode()).hexdigest()[:16]
    cache = os.path.join(cache_dir, f"{split}-{digest}.npz")
    if os.path.exists(cache):
        with np.load(cache, allow_pickle=False) as z:
            if str(z["key"]) == key:
                return Examples(
                    z["tokens"], z["starts"], z["prompt_lengths"], z["target_lengths"], list(z["kinds"]), z["depths"], z["span_offsets"], z["spans"]
                )
    chunks, starts, prompt_lengths, target_lengths, kinds, depths = [], [], [], [], [], []
    span_offsets, spans = [0], []
    total = 0
    for prompt, r in read_records(data_dir, split, paths):
        seq = np.concatenate([prompt, np.asarray(r["target"], dtype=np.int32)])
        chunks.append(seq)
        starts.append(total)
        total += len(seq)
        prompt_lengths.append(len(prompt))
        target_lengths.append(len(r["target"]))
        kinds.append(r["kind"])
        depths.append(r["depth"])
        spans.extend(r.get("followUpAnswerTokens", []))
        span_offsets.append(len(spans))
    examples = Examples(
        np.concatenate(chunks),
        np.asarray(starts, dtype=np.int64),
        np.asarray(prompt_lengths, dtype=np.int64),
        np.asarray(target_lengths, dtype=np.int64),
        kinds,
        np.asarray(depths, dtype=np.float64),
        np.asarray(span_offsets, dtype=np.int64),
        np.asarray(spans, dtype=np.int64).reshape(-1, 2),
    )
    np.savez(
        cache,
        key=np.asarray(key),
        tokens=examples.tokens,
        starts=examples.starts,
        prompt_lengths=examples.prompt_lengths,
        target_lengths=examples.target_lengths,
        kinds=np.asarray(kinds),
        depths=examples.depths,
        span_offsets=examples.span_offsets,
        spans=examples.spans,
    )
    return examples


class Batch:
    """inputs [B, T] (padded), the flat positions and targets of the answer tokens, of the
    sampled prompt tokens (LM loss), and for each row its slice of the answer positions."""

    def __init__(self, inputs, answer_positions, answer_targets, lm_positions, lm_targets, answer_rows, indices):
        self.inputs = inputs
        self.answer_positions = answer_positions
        self.answer_targets = answer_targets
        self.lm_positions = lm_positions
        self.lm_targets = lm_targets
        self.answer_rows = answer_rows
        self.indices = indices


def make_batch(examples, indices, pad_id, bucket_tokens, lm_fraction, rng):
    lengths = [int(examples.prompt_lengths[i] + examples.target_lengths[i] - 1) for i in indices]
    width = -(-max(lengths) // bucket_tokens) * bucket_tokens
    inputs = np.full((len(indices), width), pad_id, dtype=np.int64)
    answer_positions, answer_targets, lm_positions, lm_targets, answer_rows = [], [], [], [], []
    for row, i in enumerate(indices):
        seq = examples.sequence(i)
        n = len(seq) - 1
        inputs[row, :n] = seq[:n]
        p = int(examples.prompt_lengths[i])
        # Position t predicts token t + 1. Earlier answers first, then the final answer, whose
        # positions answer_rows records for exact-match scoring.
        for start, end in examples.follow_up_spans(i):
            for t in range(int(start) - 1, int(end) - 1):
                answer_positions.append(row * width + t)
                answer_targets.append(int(seq[t + 1]))
        first = len(answer_positions)
        for t in range(p - 1, n):
            answer_positions.append(row * width + t)
            answer_targets.append(int(seq[t + 1]))
        answer_rows.append((first, len(answer_positions)))
        if lm_fraction > 0:
            count = max(1, int((p - 1) * lm_fraction))
            picks = rng.choice(p - 1, size=count, replace=False)
            lm_positions.extend(row * width + picks)
            lm_targets.extend(seq[picks + 1].tolist())
    as_array = lambda xs: np.asarray(xs, dtype=np.int64)
    return Batch(inputs, as_array(answer_positions), as_array(answer_targets), as_array(lm_positions), as_array(lm_targets), answer_rows, list(indices))


class CurriculumSampler:
    """Draws batches of about `tokens_per_batch` tokens from examples whose prompt fits the
    current maximum length. A batch takes examples from one length bucket, so little of it is
    padding; the bucket is that of a uniformly drawn eligible example."""

    def __init__(self, examples, tokens_per_batch, bucket_tokens, seed):
        self.examples = examples
        self.tokens_per_batch = tokens_per_batch
        self.bucket_tokens = bucket_tokens
        self.rng = np.random.default_rng(seed)
        lengths = examples.prompt_lengths + examples.target_lengths - 1
        self.buckets = -(-lengths // bucket_tokens)
        self.order = np.argsort(examples.prompt_lengths, kind="stable")

    def draw(self, max_prompt_tokens):
        eligible = self.order[: np.searchsorted(self.examples.prompt_lengths[self.order], max_prompt_tokens, side="right")]
        if len(eligible) == 0:
            raise ValueError(f"no example has a prompt of at most {max_prompt_tokens} tokens")
        pick = eligible[self.rng.integers(len(eligible))]
        same = eligible[self.buckets[eligible] == self.buckets[pick]]
        width = int(self.buckets[pick]) * self.bucket_tokens
        size = max(1, self.tokens_per_batch // width)
        return [int(pick)] + [int(i) for i in self.rng.choice(same, size=size - 1, replace=True)] if size > 1 else [int(pick)]


def max_tokens_at(curriculum, progress):
    """The curriculum stage's maximum prompt length at `progress` (0..1 of the steps)."""
    for stage in curriculum:
        if progress < stage["until"]:
            return stage["max_tokens"]
    return curriculum[-1]["max_tokens"]
