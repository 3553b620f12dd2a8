#!/bin/bash
# Decode (one token) weight GB/s of two builds' fast CPU products, per weight
# type, on ffn_down of Qwen2.5-0.5B's shape (896 rows of 4864), with the exact
# path as the yardstick, as a markdown table. The three runs alternate (exact,
# old fast, new fast), best of three medians each, so a shared machine's load
# falls on all: read the ratios, not the absolute numbers.
#   bench/decode-kernels-ab.sh OLD_SNAPKV_BENCH NEW_SNAPKV_BENCH [THREADS] [TYPES...]
set -euo pipefail
OLD="$1"
NEW="$2"
THREADS="${3:-1}"
shift $(( $# < 3 ? $# : 3 ))
TYPES=("$@")
[ ${#TYPES[@]} -gt 0 ] || TYPES=(Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K Q4_K Q5_K Q6_K)
measure() {  # bench type exact -> GB/s
  "$1" matmul --type "$2" --rows 896 --cols 4864 --tokens 1 --threads "$THREADS" --exact "$3" --repeats 31 |
    node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log(d.weightGBps)'
}
best() { awk "BEGIN{print ($1 > $2) ? $1 : $2}"; }
echo "| type | exact GB/s | old fast GB/s | new fast GB/s | new/old | new/exact |"
echo "|---|---:|---:|---:|---:|---:|"
for type in "${TYPES[@]}"; do
  e=0; o=0; n=0
  for _ in 1 2 3; do
    e=$(best "$(measure "$NEW" "$type" 1)" "$e")
    o=$(best "$(measure "$OLD" "$type" 0)" "$o")
    n=$(best "$(measure "$NEW" "$type" 0)" "$n")
  done
  awk -v t="$type" -v e="$e" -v o="$o" -v n="$n" \
    'BEGIN{printf "| %s | %.2f | %.2f | %.2f | %.2fx | %.2fx |\n", t, e, o, n, n / o, n / e}'
done
