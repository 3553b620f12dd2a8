#!/usr/bin/env bash
# The GPU side of the project on a lent GPU machine (bench/gpu/README.md): sets
# up Node from .carry/ when the machine has none, builds the addon and tools
# for the GPU, runs the GPU tests and `npm run bench:gpu`. Everything it writes
# that matters goes to $OUT (at most 8 files, the device call's limit):
#
#   run-on-gpu.log         every step's output, nvidia-smi first
#   build.log              the addon and tools build (cmake-js, nvcc), then tsc
#   test-gpu.txt           npm run test:gpu
#   gpu-<date>.md / .json  the benchmark's tables and numbers, rewritten after every row
#                          (commit them under bench/results/; -cpu-quick in the name for a smoke run)
#   first-run-summary.txt  first-run: each step's exit status, seconds and counts, as it ends
#   kernel-checks.txt      first-run: snapkv-kernel-test and the whole model on both backends (no Node)
#   sanitize.txt           first-run: compute-sanitizer memcheck on a short subset
#
#   bash bench/gpu/run-on-gpu.sh [--dry-run] [first-run | all | setup build test bench oneshot ...]
#                                                                         (default: first-run)
#
#   first-run  the first GPU session in one call (bench/gpu/first-run.sh): build for sm_90 on every
#              core, kernel checks, test:gpu, memcheck on a short subset, then bench:gpu --preset
#              first-run, each step under its own time cap
#   all        build, test, then one bench:gpu run of every section
#   build      the addon and tools for sm_$SNAPKV_CUDA_ARCHS (skipped when a CUDA build is there)
#   test       npm run test:gpu
#   bench      bench:gpu: PyTorch baseline and limits, prefill, decode, time to first token
#   oneshot    bench:gpu --sections oneshot, merged into today's bench/results/gpu-<date>.json
#              if it is there ($SNAPKV_RESUME names another)
#   --dry-run  (or SNAPKV_DRY_RUN=1) print each step, its command, time cap and files, and run
#              nothing: first-run only
#
# A device call has a hard limit (600 s). Each step is bounded so that the call
# returns in $SNAPKV_CALL_SECONDS (default 570) with what it measured: bench:gpu
# skips rows that would start too late and says so. When one call is not enough,
# split the work over calls issued back to back (a warm machine keeps build/ and
# the written models in bench/tmp/):
#   1. bash bench/gpu/run-on-gpu.sh build test
#   2. bash bench/gpu/run-on-gpu.sh bench
#   3. bash bench/gpu/run-on-gpu.sh oneshot     (copy call 2's gpu-<date>.json into
#                                                bench/results/ first if the machine went cold)
# Extra bench:gpu options: SNAPKV_BENCH_ARGS="--shapes qwen2.5-coder-7b --repeats 5".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
dry_run=${SNAPKV_DRY_RUN:-0}
steps=()
for arg in "$@"; do
  if [ "$arg" = --dry-run ]; then dry_run=1; else steps+=("$arg"); fi
done
[ ${#steps[@]} -eq 0 ] && steps=(first-run)
[ "${steps[0]}" = all ] && steps=(build test all-bench)

out=${OUT:-/tmp/snapkv-gpu-bench-out}
log="$out/run-on-gpu.log"
arch=${SNAPKV_CUDA_ARCHS:-90}
call_seconds=${SNAPKV_CALL_SECONDS:-570}
started=$(date +%s)
today=$(date -u +%F)
status=0

note() {
  if [ "$dry_run" = 1 ]; then echo "[run-on-gpu] $*"; else echo "[run-on-gpu] $*" | tee -a "$log"; fi
}
elapsed() { echo $(($(date +%s) - started)); }
remaining() { echo $((call_seconds - $(elapsed))); }
# A step's time limit: its own cap, or what is left of the call less a margin for the files.
limit() {
  local cap=$1 left
  left=$(($(remaining) - 15))
  [ "$left" -lt "$cap" ] && cap=$left
  [ "$cap" -lt 1 ] && cap=1
  echo "$cap"
}

setup_node() {
  if ! command -v node >/dev/null 2>&1; then
    [ -f .carry/node.tar.xz ] || { note "no node here and no .carry/node.tar.xz: make it with bench/gpu/make-carry.sh and carry .carry"; return 1; }
    mkdir -p /tmp/snapkv-node && tar -xJf .carry/node.tar.xz -C /tmp/snapkv-node || return 1
    export PATH="/tmp/snapkv-node/bin:$PATH"
  fi
  if [ ! -d node_modules/mocha ] || [ ! -d node_modules/typescript ] || [ ! -d node_modules/cmake-js ]; then
    [ -f .carry/node_modules.tar.xz ] || { note "no node_modules here and no .carry/node_modules.tar.xz (bench/gpu/make-carry.sh)"; return 1; }
    tar -xJf .carry/node_modules.tar.xz || return 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    # `npm run NAME [-- ARGS]` without npm: the package.json script, with
    # node_modules/.bin on PATH and the arguments appended, as npm runs it.
    npm() {
      if [ "${1:-}" != run ] || [ -z "${2:-}" ]; then echo "npm stand-in: only 'npm run SCRIPT [-- ARGS]' works here" >&2; return 64; fi
      local name=$2 script
      shift 2
      [ "${1:-}" = -- ] && shift
      script=$(node -e 'const s = require("./package.json").scripts[process.argv[1]]; if (!s) process.exit(3); process.stdout.write(s)' "$name") \
        || { echo "npm stand-in: package.json has no script '$name'" >&2; return 64; }
      PATH="$SNAPKV_REPO/node_modules/.bin:$PATH" bash -c "$script \"\$@\"" "npm run $name" "$@"
    }
    export SNAPKV_REPO="$root"
    export -f npm
  fi
  note "node $(node --version), npm: $(command -v npm >/dev/null && (npm --version 2>/dev/null || echo stand-in))"
}

# The addon (build/Release/snapkv.node) and tools (build/native/) with the CUDA kernels for this GPU.
cuda_build_present() {
  [ -f build/Release/snapkv.node ] && [ -x build/native/snapkv-write-model ] && [ -x build/native/snapkv-kernel-test ] &&
    node -e 'process.exit(require("./build/Release/snapkv.node").buildInfo().cuda.compiled ? 0 : 1)' 2>/dev/null
}

# The build as one shell command writing to FILE: the addon and tools through
# cmake-js, then the TypeScript; without Node (or with a second argument
# `tools`), the tools alone through CMake (the kernel checks and
# compute-sanitizer need no Node). sm_$arch only, on every core.
build_command() {
  local file=$1 only=${2:-} cores
  cores=$(nproc)
  if [ "$only" != tools ] && command -v node >/dev/null 2>&1 && [ -d node_modules/cmake-js ]; then
    echo "CMAKE_BUILD_PARALLEL_LEVEL=$cores SNAPKV_CUDA_ARCHS=$arch node node_modules/cmake-js/bin/cmake-js compile --out build --parallel $cores --CDCMAKE_CUDA_ARCHITECTURES=$arch > $file 2>&1" \
      "&& node node_modules/typescript/bin/tsc -p tsconfig.json >> $file 2>&1"
  else
    echo "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=$arch > $file 2>&1" \
      "&& cmake --build build --parallel $cores --target snapkv-kernel-test snapkv-run snapkv-write-model >> $file 2>&1"
  fi
}

step_build() {
  if cuda_build_present && [ "${SNAPKV_REBUILD:-0}" != 1 ]; then
    note "build: a CUDA build is there (SNAPKV_REBUILD=1 rebuilds)"
    return 0
  fi
  note "build: for sm_$arch ($(limit 360) s at most)"
  timeout "$(limit 360)" bash -c "$(build_command "$out/build.log")"
  local rc=$?
  note "build: exit $rc (build.log)"
  tail -5 "$out/build.log" | tee -a "$log"
  return $rc
}

step_test() {
  note "test:gpu ($(limit 300) s at most)"
  timeout "$(limit 300)" bash -c 'npm run test:gpu' > "$out/test-gpu.txt" 2>&1
  local rc=$?
  note "test:gpu: exit $rc (test-gpu.txt)"
  grep -E 'passing|failing|pending' "$out/test-gpu.txt" | tee -a "$log"
  return $rc
}

# The bench:gpu command for a time budget of SECONDS, writing its rows to $OUT as they finish.
bench_command() {
  local seconds=$1
  shift
  echo "npm run bench:gpu -- --time-budget $seconds --torch-timeout $((seconds * 2 / 5)) --out-dir $out $* ${SNAPKV_BENCH_ARGS:-}"
}

# After a bench: today's files also under bench/results/, where a later call on a warm machine resumes them.
keep_bench_files() {
  mkdir -p bench/results
  find "$out" -maxdepth 1 -name 'gpu-*' -exec cp {} bench/results/ \;
}

# bench:gpu with a time budget inside the call's.
run_bench() {
  local budget=$(($(remaining) - 25))
  [ "$budget" -lt 30 ] && { note "bench: only ${budget} s left in this call; run it in the next one"; return 1; }
  note "bench:gpu $* (time budget ${budget} s, PyTorch at most $((budget * 2 / 5)) s)"
  timeout $((budget + 15)) bash -c "$(bench_command "$budget" "$@")" > /dev/null 2> >(tee -a "$log" >&2)
  local rc=$?
  note "bench:gpu: exit $rc"
  keep_bench_files
  return $rc
}

step_oneshot() {
  local resume=${SNAPKV_RESUME:-bench/results/gpu-$today.json}
  if [ -f "$resume" ]; then
    run_bench --sections oneshot --resume "$resume"
  else
    run_bench --sections oneshot
  fi
}

# shellcheck source=bench/gpu/first-run.sh
source "$root/bench/gpu/first-run.sh"

if [ "$dry_run" = 1 ]; then
  [ "${steps[*]}" = first-run ] || { echo "[run-on-gpu] --dry-run plans first-run only, not: ${steps[*]}" >&2; exit 64; }
  first_run
  exit $?
fi

mkdir -p "$out"
{
  echo "== $(date -u +%FT%TZ) run-on-gpu ${steps[*]} (sm $arch, ${call_seconds} s)"
  nvidia-smi 2>&1 || echo "nvidia-smi: not available"
} >> "$log"
note "steps: ${steps[*]}; $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"

# first-run sets Node up as a step of its own (and builds the tools without it when that fails).
if [ "${steps[*]}" != first-run ]; then setup_node || exit 1; fi

for step in "${steps[@]}"; do
  case "$step" in
    first-run) first_run || status=1 ;;
    setup) ;;
    build) step_build || { status=1; note "build failed: the later steps need it"; break; } ;;
    test) step_test || status=1 ;;
    bench)
      cuda_build_present || step_build || { status=1; break; }
      run_bench --sections torch,prefill,decode,ttft || status=1
      ;;
    oneshot)
      cuda_build_present || step_build || { status=1; break; }
      step_oneshot || status=1
      ;;
    all-bench)
      run_bench || status=1
      ;;
    *)
      note "unknown step $step (first-run, all, setup, build, test, bench, oneshot)"
      exit 64
      ;;
  esac
done

note "done in $(elapsed) s, exit $status; files in $out: $(ls "$out" | tr '\n' ' ')"
# The reply shows the end of the output: the summary and the tables last.
[ -f "$out/first-run-summary.txt" ] && cat "$out/first-run-summary.txt"
for table in "$out"/gpu-*.md; do [ -f "$table" ] && cat "$table"; done
exit $status
