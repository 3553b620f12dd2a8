#!/bin/bash
# Decode (one token) weight GB/s, fast against exact CPU products, per weight
# type, on ffn_down of Qwen2.5-0.5B's shape (896 rows of 4864), as a markdown
# table. The paths alternate, best of three medians each, so a shared
# machine's load falls on both: read the ratio, not the absolute numbers.
#   bench/decode-kernels-table.sh [THREADS]   (needs build/native/snapkv-bench)
set -euo pipefail
BENCH="$(dirname "$0")/../build/native/snapkv-bench"
THREADS="${1:-1}"
measure() {  # type exact -> "GB/s kernels"
  "$BENCH" matmul --type "$1" --rows 896 --cols 4864 --tokens 1 --threads "$THREADS" --exact "$2" --repeats 31 |
    node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(d.weightGBps, d.kernels)'
}
echo "| type | exact GB/s | fast GB/s | kernels | fast/exact |"
echo "|---|---:|---:|---|---:|"
for type in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K F16 BF16; do
  best_e=0; best_f=0; kernels=""
  for _ in 1 2 3; do
    read -r e _k <<<"$(measure "$type" 1)"
    read -r f kernels <<<"$(measure "$type" 0)"
    best_e=$(awk "BEGIN{print ($e > $best_e) ? $e : $best_e}")
    best_f=$(awk "BEGIN{print ($f > $best_f) ? $f : $best_f}")
  done
  awk -v t="$type" -v e="$best_e" -v f="$best_f" -v k="$kernels" \
    'BEGIN{printf "| %s | %.2f | %.2f | %s | %.2fx |\n", t, e, f, k, f / e}'
done
