#!/bin/bash
# Per weight byte, end to end on the Qwen2.5-Coder-1.5B-shaped peer files (random weights, 28 layers):
# decode GB/s (weightBytes / decode ms per token) and prefill GB/s (weightBytes x prefill tokens/s), the
# Q8_0 file on the exact path (f32 products, the Q8_0 path issue 14 measures against) and the fast one,
# the Q2_K and Q3_K files with NEW and, if given, OLD (snapkv-run binaries). Best of ROUNDS alternating runs.
# The peer bench writes the files on its first run, e.g. node out/bench/peer/peer-bench.js --sections speed
#   --shapes qwen2.5-coder-1.5b --types Q8_0,Q2_K,Q3_K --prefill 512 --decode 512 --repeats 1
#   [OLD=... NEW=...] [BASE=...] bench/kquant-e2e-per-byte.sh THREADS ROUNDS [PREFILL_TOKENS]
# BASE, optional: snapkv-run of the commit issue 14 was filed against, a3f0794, for its Q8_0 row (Q8base):
#   git worktree add /tmp/base a3f0794 && (cd /tmp/base && ln -s "$OLDPWD/node_modules" &&
#   npx cmake-js compile --out build --CDSNAPKV_CUDA=OFF --target snapkv-run); BASE=/tmp/base/build/native/snapkv-run
M=$HOME/.cache/snapkv-code/peer/models
Q8=$M/peer-tiny-qwen2-Q8_0-tied-h1536-l28-q12-kv2-f8960-s1-ctx40960.gguf
Q2=$M/peer-tiny-qwen2-Q2_K-tied-h1536-l28-q12-kv2-f8960-s1-ctx40960.gguf
Q3=$M/peer-tiny-qwen2-Q3_K-tied-h1536-l28-q12-kv2-f8960-s1-ctx40960.gguf
NEW=${NEW:-build/native/snapkv-run}
T=$1; R=$2; P=${3:-128}
dec() { "$@" --random-tokens 4 --generate 17 --threads $T --logits none | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log((d.model.weightBytes/1e6/d.timings.decodeMsPerToken).toFixed(2), d.timings.decodeMsPerToken.toFixed(1)+"ms", d.generated.slice(0,8).join(","))'; }
pre() { "$@" --random-tokens $P --generate 0 --threads $T --logits none | node -e 'const d=JSON.parse(require("fs").readFileSync(0,"utf8")); console.log((d.model.weightBytes/1e9*d.timings.prefillTokensPerSecond).toFixed(2), d.timings.prefillTokensPerSecond.toFixed(1)+"tok/s")'; }
declare -A best
runs=(${BASE:+"Q8base|$BASE $Q8"} "Q8exact|$NEW $Q8 --exact" "Q8fast|$NEW $Q8" "Q2new|$NEW $Q2"
  ${OLD:+"Q2old|$OLD $Q2"} "Q3new|$NEW $Q3" ${OLD:+"Q3old|$OLD $Q3"})
rows=$(for c in "${runs[@]}"; do echo -n "${c%%|*} "; done)
for r in $(seq $R); do
  for c in "${runs[@]}"; do
    name=${c%%|*}; cmd=${c#*|}
    for kind in dec pre; do
      out=$($kind $cmd); gb=${out%% *}
      echo "round $r $kind $name $out" >&2
      cur=${best[$kind$name]:-0}; best[$kind$name]=$(awk "BEGIN{print ($gb>$cur)?$gb:$cur}")
    done
  done
done
echo "| path | decode GB/s of weights | prefill GB/s of weights ($P tokens) |"
echo "|---|---:|---:|"
for n in $rows; do echo "| $n | ${best[dec$n]} | ${best[pre$n]} |"; done
