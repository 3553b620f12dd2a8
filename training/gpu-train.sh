#!/usr/bin/env bash
# The training run on a GPU machine, in one command of under 10 minutes, for a machine that has
# PyTorch but no Node (the data is generated beforehand, elsewhere, in compact form).
#
#   bash training/gpu-train.sh [MINUTES] [more train.py options]
#
# Reads training/data/compact (carry it there), trains for MINUTES (default 7) of GPU time into
# training/runs/demo, and, when $OUT is set (the device tool's result folder), copies there what
# the exporter needs: the weight shards, probe.json, summary.json and train-log.jsonl (8 files).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-7}
shift || true
run=training/runs/demo
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
# --max-minutes is a safety net: a run cut short leaves a checkpoint that the same command continues.
python3 training/train.py --data training/data/compact --out "$run" --minutes "$minutes" --max-minutes 8.5 "$@"
if [ -n "${OUT:-}" ] && [ -f "$run/summary.json" ]; then
  cp "$run"/model-*.safetensors "$run"/probe.json "$run"/summary.json "$run"/train-log.jsonl "$OUT"/
fi
