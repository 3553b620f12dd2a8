#!/bin/bash
# Fast (int8 / bf16) against exact (f32) CPU products, per weight type, on one
# matrix of Qwen2.5-0.5B's shape (ffn_down: 896 rows of 4864), as a markdown
# table. The two paths alternate, best of REPEATS each, so that a shared
# machine's load falls on both: read the ratio, not the absolute numbers.
#   bench/fast-kernels-table.sh [THREADS] [REPEATS]   (needs build/native/snapkv-bench)
set -euo pipefail
BENCH="$(dirname "$0")/../build/native/snapkv-bench"
THREADS="${1:-1}"
REPEATS="${2:-3}"
measure() {  # type tokens exact -> "gflops GB/s kernels"
  "$BENCH" matmul --type "$1" --rows 896 --cols 4864 --tokens "$2" --threads "$THREADS" --exact "$3" \
    --repeats "$([ "$2" = 1 ] && echo 31 || echo 3)" |
    node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(d.gflops, d.weightGBps, d.kernels)'
}
echo "| type | tokens | exact GFLOP/s | exact GB/s | fast GFLOP/s | fast GB/s | kernels | fast/exact |"
echo "|---|---:|---:|---:|---:|---:|---|---:|"
for type in Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K F16 BF16; do
  for tokens in 256 1; do
    best_e=0; best_f=0; gb_e=0; gb_f=0; kernels=""
    for _ in $(seq "$REPEATS"); do
      read -r g b _k <<<"$(measure "$type" "$tokens" 1)"
      if awk "BEGIN{exit !($g > $best_e)}"; then best_e=$g; gb_e=$b; fi
      read -r g b k <<<"$(measure "$type" "$tokens" 0)"
      kernels=$k
      if awk "BEGIN{exit !($g > $best_f)}"; then best_f=$g; gb_f=$b; fi
    done
    awk -v t="$type" -v n="$tokens" -v e="$best_e" -v ge="$gb_e" -v f="$best_f" -v gf="$gb_f" -v k="$kernels" \
      'BEGIN{printf "| %s | %d | %.1f | %.2f | %.1f | %.2f | %s | %.2fx |\n", t, n, e, ge, f, gf, k, f/e}'
  done
done
