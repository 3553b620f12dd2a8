# The first GPU session in one device call (issue 19): sourced by
# bench/gpu/run-on-gpu.sh, which owns Node's setup, the build and bench
# commands and the call's clock (limit, remaining). Steps, in order:
#
#   setup          Node and node_modules from .carry/ where the machine has none
#   build          the addon and tools for sm_90 on every core, then tsc (without Node: the tools alone)
#   kernel-checks  snapkv-kernel-test, then a tiny model of each weight type on both backends
#                  (native/tools/gpu_kernel_check.sh test model: no Node needed)
#   test-gpu       npm run test:gpu: the kernel checks again, then the CUDA backend against the CPU's
#   sanitize       compute-sanitizer memcheck on the whole model once, then on the kernel checks a
#                  group at a time until its time is spent (gpu_kernel_check.sh memcheck-short)
#   bench          bench:gpu --preset first-run: the 1.5B shape, prefill 8K and 32K, decode at 32K from
#                  the full cache and SnapKV 2048, first token against 32K, PyTorch on the same rows
#
# Each step runs under a time cap. The caps are ceilings that sum to the call's
# 570 s less 15 s for the files, so the bench keeps its share whatever the steps
# before it do; a step that ends early leaves its time to the bench, which gets
# all that is left. Each step's start, then its exit status, seconds and counts,
# are appended to $OUT/first-run-summary.txt as they happen, so a call cut off
# still says what ran. `run-on-gpu.sh --dry-run` prints the steps instead.

FIRST_RUN_STEPS=(setup build kernel-checks test-gpu sanitize bench)
declare -A FIRST_RUN_CAP=([setup]=30 [build]=180 [kernel-checks]=60 [test-gpu]=110 [sanitize]=45 [bench]=130)
declare -A FIRST_RUN_FILES=([setup]=run-on-gpu.log [build]=build.log [kernel-checks]=kernel-checks.txt
  [test-gpu]=test-gpu.txt [sanitize]=sanitize.txt [bench]="gpu-<date>.md gpu-<date>.json")
FIRST_RUN_SUMMARY=first-run-summary.txt
# Scratch, not returned: the kernel checks' model files and raw outputs ($OUT takes 8 files).
fr_work=${TMPDIR:-/tmp}/snapkv-first-run

fr_summary() {
  echo "$*" >> "$out/$FIRST_RUN_SUMMARY"
  note "$*"
}

# The command of a step as one shell string, for a time limit of $2 seconds.
fr_command() {
  local name=$1 lim=$2
  case "$name" in
    setup) echo "setup_node   # in this shell: node, node_modules and an npm stand-in from .carry/*.tar.xz where missing" ;;
    build) build_command "$out/build.log" ;;
    kernel-checks)
      echo "SNAPKV_GPU_BUILD=$root/build OUT=$fr_work bash native/tools/gpu_kernel_check.sh test model > $fr_work/kernel-checks.out 2>&1" ;;
    test-gpu) echo "npm run test:gpu > $out/test-gpu.txt 2>&1" ;;
    sanitize)
      echo "SNAPKV_GPU_BUILD=$root/build OUT=$fr_work SNAPKV_MEMCHECK_SECONDS=$((lim - 5)) bash native/tools/gpu_kernel_check.sh memcheck-short > $fr_work/sanitize.out 2>&1" ;;
    # The markdown (stdout) is printed at the end of the call anyway; progress goes to the log.
    bench) echo "$(bench_command $((lim - 20)) --preset first-run) > /dev/null 2>> $log" ;;
  esac
}

# After a step, cut off or not: its files into $OUT.
fr_collect() {
  case "$1" in
    kernel-checks) cat "$fr_work/summary.txt" "$fr_work/kernel-test.txt" "$fr_work/model.txt" > "$out/kernel-checks.txt" 2>/dev/null ;;
    sanitize) { grep -h 'memcheck-short' "$fr_work/summary.txt"; cat "$fr_work/memcheck-short.txt"; } > "$out/sanitize.txt" 2>/dev/null ;;
    bench) keep_bench_files ;;
  esac
  return 0
}

fr_count() { local n; n=$(grep -cE "$1" "$2" 2>/dev/null); echo "${n:-0}"; }

# What a step's files say: passing and failing counts.
fr_counts() {
  case "$1" in
    setup) command -v node >/dev/null 2>&1 && echo "node $(node --version)" || echo "no node: test-gpu and bench cannot run" ;;
    build)
      if [ -x build/native/snapkv-kernel-test ]; then echo "snapkv-kernel-test built; addon: $([ -f build/Release/snapkv.node ] && echo built || echo none)"
      else echo "no build/native/snapkv-kernel-test; build.log says: $(grep -m3 -E 'snapkv: |error' "$out/build.log" 2>/dev/null | cut -c1-160 | paste -sd'|' -)"; fi ;;
    kernel-checks)
      echo "kernels $(fr_count '^PASS' "$fr_work/kernel-test.txt") PASS, $(fr_count '^FAIL' "$fr_work/kernel-test.txt") FAIL;" \
        "model cpu vs cuda $(fr_count '^PASS' "$fr_work/model.txt") PASS, $(fr_count '^FAIL' "$fr_work/model.txt") FAIL" ;;
    test-gpu) grep -hoE '^ +[0-9]+ (passing|failing|pending)' "$out/test-gpu.txt" 2>/dev/null | sed 's/^ *//' | paste -sd, - ;;
    sanitize) grep -h 'memcheck-short' "$fr_work/summary.txt" 2>/dev/null | sed 's/^memcheck-short //' | paste -sd';' - ;;
    bench) grep -h '\[gpu-bench\] rows:' "$log" 2>/dev/null | tail -1 | sed 's/.*\[gpu-bench\] //' ;;
  esac
}

# Runs one step under its cap and appends its outcome to the summary; in a dry
# run prints the step, its cap, its files and its command instead.
fr_step() {
  local name=$1 cap=${FIRST_RUN_CAP[$1]} lim command t0 rc
  lim=$cap
  if [ "$dry_run" != 1 ]; then
    lim=$(limit "$cap")
    [ "$name" = bench ] && lim=$(limit "$(remaining)")
  fi
  command=$(fr_command "$name" "$lim")
  if [ "$dry_run" = 1 ]; then
    printf 'step %-14s cap %4d s  writes %s\n  $ %s\n' "$name" "$cap" "${FIRST_RUN_FILES[$name]}" "$command"
    return 0
  fi
  fr_summary "$name: started at +$(elapsed) s, at most $lim s"
  t0=$(date +%s)
  if [ "$name" = setup ]; then
    setup_node
  else
    timeout "$lim" bash -c "$command"
  fi
  rc=$?
  fr_collect "$name"
  local outcome="exit $rc"
  [ $rc -eq 124 ] && outcome="cut off at its cap (exit 124)"
  fr_summary "$name: $outcome after $(($(date +%s) - t0)) s; $(fr_counts "$name")"
  return $rc
}

fr_skip() {
  if [ "$dry_run" = 1 ]; then return 0; fi
  fr_summary "$1: skipped: $2"
}

fr_plan_footer() {
  local total=0 step files=()
  for step in "${FIRST_RUN_STEPS[@]}"; do
    total=$((total + FIRST_RUN_CAP[$step]))
    # shellcheck disable=SC2206
    files+=(${FIRST_RUN_FILES[$step]})
  done
  echo "build without Node there: $(build_command "$out/build.log" tools)"
  echo "caps: $total s of the call's $call_seconds s ($((call_seconds - total)) s left for the files)"
  [ "$total" -gt "$call_seconds" ] && echo "warning: the caps sum to more than the call: the last steps get less than their caps"
  echo "files in \$OUT: $FIRST_RUN_SUMMARY ${files[*]} ($((${#files[@]} + 1)) of the 8 a call returns)"
  [ -f .carry/node.tar.xz ] && [ -f .carry/node_modules.tar.xz ] ||
    echo "note: no .carry/node.tar.xz or node_modules.tar.xz here: run bash bench/gpu/make-carry.sh before the device call (else test-gpu and bench are skipped there)"
  if [ -f out/bench/gpu-bench.js ] && command -v node >/dev/null 2>&1; then
    node out/bench/gpu-bench.js --preset first-run --out-dir "$out" --dry-run | sed 's/^/  /'
  else
    echo "(npm run build:ts here to list the bench rows)"
  fi
}

first_run() {
  local status=0 node_ok=1 built=1
  if [ "$dry_run" = 1 ]; then
    echo "first-run plan for one call of $call_seconds s, sm_$arch, $(nproc) cores here (--dry-run: nothing runs)"
  else
    mkdir -p "$out"
    rm -rf "$fr_work" && mkdir -p "$fr_work"
    {
      echo "first-run, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), call budget $call_seconds s, sm_$arch"
      echo "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
      echo "nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*, V[0-9.]*' || echo none); cores: $(nproc)"
      echo "caps (s): $(for s in "${FIRST_RUN_STEPS[@]}"; do printf '%s %s, ' "$s" "${FIRST_RUN_CAP[$s]}"; done)"
    } > "$out/$FIRST_RUN_SUMMARY"
  fi

  fr_step setup || node_ok=0

  # Always: on a warm machine (a rerun after a fix) the build is incremental, and the fix must be in it.
  fr_step build || built=0
  if [ "$dry_run" != 1 ] && [ ! -x build/native/snapkv-kernel-test ]; then
    built=0
    fr_summary "build: no build/native/snapkv-kernel-test: nothing on the GPU can run (build.log)"
  fi
  [ "$built" = 1 ] || status=1

  local needs_addon=""
  [ "$node_ok" = 1 ] || needs_addon="no node (carry .carry, made by bench/gpu/make-carry.sh)"
  [ -z "$needs_addon" ] && [ "$dry_run" != 1 ] && ! cuda_build_present && needs_addon="no addon with CUDA (build.log)"

  if [ "$built" = 1 ]; then fr_step kernel-checks || status=1; else fr_skip kernel-checks "the build failed"; fi
  if [ -z "$needs_addon" ]; then fr_step test-gpu || status=1; else fr_skip test-gpu "$needs_addon"; fi
  if [ "$built" = 1 ]; then fr_step sanitize || status=1; else fr_skip sanitize "the build failed"; fi
  if [ -z "$needs_addon" ]; then fr_step bench || status=1; else fr_skip bench "$needs_addon"; fi

  if [ "$dry_run" = 1 ]; then
    fr_plan_footer
  else
    fr_summary "first-run: done in $(elapsed) s, exit $status"
  fi
  return $status
}
