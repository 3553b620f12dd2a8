#!/usr/bin/env bash
# The CUDA kernels on a GPU machine, without Node: build for the GPU's
# architecture with the ptxas report and warnings as errors (check_spills.sh),
# run snapkv-kernel-test (every kernel against its CPU reference), run it under
# compute-sanitizer, and time the kernels (--bench). Logs go to $OUT (or
# ./gpu-out), at most 8 files:
#   ptxas.txt        registers / stack / spills per kernel (check_spills.sh)
#   kernel-test.txt  the checks, one line each
#   bench.txt        timings next to the measured copy bandwidth
#   model.txt        the CUDA backend on a written model against the CPU backend (snapkv-run)
#   memcheck.txt racecheck.txt synccheck.txt initcheck.txt   compute-sanitizer (kernel checks,
#                    then the whole model through snapkv-run --backend cuda)
#   memcheck-short.txt  memcheck on a short subset (step memcheck-short)
#   summary.txt      the GPU, the seed, each step's exit status
#
#   native/tools/gpu_kernel_check.sh [all|build|test|model|bench|sanitize|memcheck-short] ...   (default: all = build test model bench sanitize)
#   SNAPKV_CUDA_ARCHS=90 (default)   SNAPKV_KERNEL_TEST_SEED=N (default: fresh)   SNAPKV_SANITIZE_ONLY=group
#   SNAPKV_GPU_BUILD=DIR: the build to use (default build/gpu-sm$SNAPKV_CUDA_ARCHS; bench/gpu/run-on-gpu.sh passes build/)
#
# memcheck-short, for a call with minutes to spend (bench/gpu/run-on-gpu.sh first-run): memcheck
# on the whole model once (a tiny BF16 file through snapkv-run --backend cuda), then on the
# kernel checks a group at a time, the groups most likely to index out of bounds first, until
# $SNAPKV_MEMCHECK_SECONDS (default 60) are spent. Without compute-sanitizer, or where it
# cannot use the device, it says so and passes.
#
# Each step is bounded by `timeout` (build 240 s, test 180 s, bench 240 s,
# each of the four sanitizers $SNAPKV_SANITIZE_TIMEOUT, default 130 s), so
# that on a device machine with 10-minute calls two calls cover everything:
#   1. native/tools/gpu_kernel_check.sh build test bench
#   2. native/tools/gpu_kernel_check.sh sanitize      (reuses build/gpu-sm90 if the machine is
#                                                     still warm, else builds it again first)
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/snapkv-gpu-out}
mkdir -p "$out"
arch=${SNAPKV_CUDA_ARCHS:-90}
build=${SNAPKV_GPU_BUILD:-$root/build/gpu-sm$arch}  # build/ is ignored by git: kept between device calls
tool="$build/native/snapkv-kernel-test"
seed=${SNAPKV_KERNEL_TEST_SEED:-$(( $(date +%s%N) % 1000000007 ))}
summary="$out/summary.txt"
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(all)
if [ "${steps[0]}" = all ]; then steps=(build test model bench sanitize); fi

note() { echo "$*" | tee -a "$summary"; }
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer /usr/local/cuda*/compute-sanitizer/compute-sanitizer \
  /opt/nvidia/*/compute-sanitizer 2>/dev/null | head -1 || true)

{
  echo "== $(date -u +%FT%TZ) gpu_kernel_check ${steps[*]} (sm $arch, seed $seed)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 || true
  nvcc --version 2>&1 | tail -1 || true
  echo "compute-sanitizer: ${sanitizer:-not found}"
} >> "$summary"

# A fresh device machine has no build (a warm one keeps build/ between
# calls for 30 s): test, bench and sanitize build first when the tool is missing.
case " ${steps[*]} " in
  *" build "*) ;;
  *) [ -x "$tool" ] || steps=(build "${steps[@]}") ;;
esac

status=0
for step in "${steps[@]}"; do
  case "$step" in
    build)
      # Warnings are reported, not fatal, here: a newer host compiler on the
      # device machine must not cost the GPU time. A spill fails the step but
      # the tool is still run.
      SNAPKV_WERROR=0 SNAPKV_CUDA_ARCHS="$arch" timeout 240 "$root/native/tools/check_spills.sh" "$build" > "$out/ptxas.txt" 2>&1
      rc=$?; note "build + ptxas check: exit $rc (ptxas.txt)"; tail -3 "$out/ptxas.txt"
      [ $rc -ne 0 ] && status=1
      [ -x "$tool" ] || { note "build: no $tool"; break; }
      ;;
    test)
      [ -x "$tool" ] || { note "test: $tool is missing (run the build step first)"; status=1; break; }
      timeout 180 "$tool" --seed "$seed" > "$out/kernel-test.txt" 2>&1
      rc=$?; note "snapkv-kernel-test --seed $seed: exit $rc ($(grep -c '^PASS' "$out/kernel-test.txt") PASS, $(grep -c '^FAIL' "$out/kernel-test.txt") FAIL)"
      grep -E '^FAIL' "$out/kernel-test.txt" | head -20
      [ $rc -ne 0 ] && status=1
      ;;
    model)
      # The whole model without Node: a written tiny qwen2 file of each weight
      # type, prefill + greedy decode on both backends, compared in Python.
      for type in F32 F16 BF16 Q8_0; do
        file="$out/tiny-$type.gguf"
        "$build/native/snapkv-write-model" --shape tiny --type "$type" --out "$file" --seed 5 > /dev/null || { note "model: cannot write $file"; status=1; continue; }
        for backend in cpu cuda; do
          timeout 120 "$build/native/snapkv-run" "$file" --random-tokens 300 --seed 9 --logits last --generate 16 --backend "$backend" \
            > "$out/run-$type-$backend.json" 2>> "$out/model.txt"
        done
        python3 - "$out/run-$type-cpu.json" "$out/run-$type-cuda.json" "$type" >> "$out/model.txt" 2>&1 <<'PY'
import json, math, sys
try:
    cpu, gpu = (json.load(open(p)) for p in sys.argv[1:3])
except Exception as error:  # a crashed run leaves no JSON: still one FAIL line
    print(f"FAIL {sys.argv[3]}: no result to compare ({error}); see the run's stderr above")
    sys.exit(1)
a, b = cpu["logits"][0], gpu["logits"][0]
err = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)) / sum(x * x for x in a))
same = sum(x == y for x, y in zip(cpu["generated"], gpu["generated"]))
ok = gpu.get("backend") == "cuda" and err < 3e-2
print(f"{'PASS' if ok else 'FAIL'} {sys.argv[3]}: logits relative error {err:.2e} (bound 3e-2), greedy tokens equal {same}/{len(cpu['generated'])}, "
      f"prefill cpu {cpu['timings']['prefillMs']:.1f} ms / cuda {gpu['timings']['prefillMs']:.1f} ms")
sys.exit(0 if ok else 1)
PY
        rc=$?; [ $rc -ne 0 ] && status=1
      done
      note "model (snapkv-run cpu vs cuda): $(grep -c '^PASS' "$out/model.txt") PASS, $(grep -c '^FAIL' "$out/model.txt") FAIL (model.txt)"
      grep -E '^(PASS|FAIL)' "$out/model.txt"
      ;;
    bench)
      timeout 240 "$tool" --bench --seed "$seed" > "$out/bench.txt" 2>&1
      rc=$?; note "snapkv-kernel-test --bench: exit $rc (bench.txt)"
      [ $rc -ne 0 ] && status=1
      ;;
    sanitize)
      [ -x "$tool" ] || { note "sanitize: $tool is missing (run the build step first)"; status=1; break; }
      only=()
      [ -n "${SNAPKV_SANITIZE_ONLY:-}" ] && only=(--only "$SNAPKV_SANITIZE_ONLY")
      for check in memcheck racecheck synccheck initcheck; do
        extra=()
        [ "$check" = memcheck ] && extra=(--leak-check full)
        timeout "${SNAPKV_SANITIZE_TIMEOUT:-130}" "${sanitizer:-compute-sanitizer}" --tool "$check" "${extra[@]}" --error-exitcode 86 "$tool" --seed "$seed" "${only[@]}" \
          > "$out/$check.txt" 2>&1
        rc=$?
        note "compute-sanitizer --tool $check: exit $rc ($(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|LEAK SUMMARY' "$out/$check.txt" | tr '\n' ' '))"
        [ $rc -ne 0 ] && status=1
      done
      file="$out/tiny-BF16.gguf"
      [ -f "$file" ] || "$build/native/snapkv-write-model" --shape tiny --type BF16 --out "$file" --seed 5 > /dev/null
      timeout "${SNAPKV_SANITIZE_TIMEOUT:-130}" "${sanitizer:-compute-sanitizer}" --tool memcheck --error-exitcode 86 \
        "$build/native/snapkv-run" "$file" --random-tokens 300 --generate 8 --backend cuda > "$out/memcheck-model.txt" 2>&1
      rc=$?
      note "compute-sanitizer --tool memcheck snapkv-run --backend cuda: exit $rc ($(grep -E 'ERROR SUMMARY' "$out/memcheck-model.txt" | tr '\n' ' '))"
      [ $rc -ne 0 ] && status=1
      ;;
    memcheck-short)
      [ -x "$tool" ] || { note "memcheck-short: $tool is missing (run the build step first)"; status=1; break; }
      if [ -z "$sanitizer" ]; then note "memcheck-short: skipped: compute-sanitizer not found"; continue; fi
      short="$out/memcheck-short.txt"
      ends=$(( $(date +%s) + ${SNAPKV_MEMCHECK_SECONDS:-60} ))
      file="$out/tiny-BF16.gguf"
      [ -f "$file" ] || "$build/native/snapkv-write-model" --shape tiny --type BF16 --out "$file" --seed 5 > /dev/null
      runs=("model:$build/native/snapkv-run $file --random-tokens 300 --generate 8 --backend cuda")
      for group in attention snapkv matrix basic sampling; do runs+=("$group:$tool --seed $seed --only $group"); done
      for entry in "${runs[@]}"; do
        name=${entry%%:*}
        left=$(( ends - $(date +%s) ))
        if [ "$left" -lt 5 ]; then note "memcheck-short $name: not run (the ${SNAPKV_MEMCHECK_SECONDS:-60} s were spent)"; continue; fi
        echo "== memcheck $name: ${entry#*:}" >> "$short"
        # shellcheck disable=SC2086
        timeout "$left" "$sanitizer" --tool memcheck --error-exitcode 86 ${entry#*:} > "$short.run" 2>&1
        rc=$?
        cat "$short.run" >> "$short"
        errors=$(grep -E 'ERROR SUMMARY' "$short.run" | tail -1)
        [ $rc -eq 124 ] && errors="cut off after $left s"
        note "memcheck-short $name: exit $rc (${errors:-no summary})"
        if tail -20 "$short.run" | grep -qiE 'device not supported|unable to (start|launch)'; then
          rm -f "$short.run"
          note "memcheck-short: skipped: compute-sanitizer cannot use this device (see memcheck-short.txt)"
          break
        fi
        rm -f "$short.run"
        [ $rc -ne 0 ] && [ $rc -ne 124 ] && status=1
      done
      ;;
    *)
      echo "unknown step $step (all, build, test, model, bench, sanitize, memcheck-short)" >&2
      exit 64
      ;;
  esac
done
echo "--- summary"; cat "$summary"
[ -f "$out/bench.txt" ] && { echo "--- bench"; cat "$out/bench.txt"; }
exit $status
