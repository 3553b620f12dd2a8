#!/usr/bin/env bash
# The CUDA kernels on a GPU machine, without Node: build for the GPU's
# architecture with the ptxas report and warnings as errors (check_spills.sh),
# run snapkv-kernel-test (every kernel against its CPU reference), run it under
# compute-sanitizer, and time the kernels (--bench). Logs go to $OUT (or
# ./gpu-out), at most 8 files:
#   ptxas.txt        registers / stack / spills per kernel (check_spills.sh)
#   kernel-test.txt  the checks, one line each
#   bench.txt        timings next to the measured copy bandwidth
#   memcheck.txt racecheck.txt synccheck.txt initcheck.txt   compute-sanitizer
#   summary.txt      the GPU, the seed, each step's exit status
#
#   native/tools/gpu_kernel_check.sh [all|build|test|bench|sanitize] ...   (default: all = build test bench sanitize)
#   SNAPKV_CUDA_ARCHS=90 (default)   SNAPKV_KERNEL_TEST_SEED=N (default: fresh)   SNAPKV_SANITIZE_ONLY=group
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
if [ "${steps[0]}" = all ]; then steps=(build test bench sanitize); fi

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
      ;;
    *)
      echo "unknown step $step (all, build, test, bench, sanitize)" >&2
      exit 64
      ;;
  esac
done
echo "--- summary"; cat "$summary"
[ -f "$out/bench.txt" ] && { echo "--- bench"; cat "$out/bench.txt"; }
exit $status
