#!/usr/bin/env bash
# The native code under AddressSanitizer + UndefinedBehaviorSanitizer, and the
# model-loader fuzzer for a fixed number of executions (`npm run test:native-sanitizers`;
# .ci/run runs it). Needs clang with libFuzzer (Debian: clang-14 libclang-rt-14-dev)
# and the TypeScript build (out/, from `npm test` or `npm run build:ts`).
#
#   1. build-sanitize/: the addon, the tools and snapkv-fuzz-model, CPU only, ASan+UBSan
#      (native/sanitizers.cmake).
#   2. snapkv-unit-test (native/tools/unit_test*.cpp).
#   3. The model fuzzer replays every committed input (native/fuzz/corpus, native/fuzz/regressions),
#      then fuzzes FUZZ_RUNS inputs (default 100000) from seed FUZZ_SEED (default 1), a
#      scratch copy of the corpus so the committed one stays as it is. A finding stops the
#      run and leaves its input in build-sanitize/fuzz-findings/.
#   3b. The prompt-cache fuzzer (snapkv-fuzz-prefix) the same way: native/fuzz/prefix-corpus and
#      native/fuzz/prefix-regressions, then FUZZ_PREFIX_RUNS inputs (default 50000, about 30 s).
#   4. The engine's CPU tests (mocha) with the sanitized addon, node running with the ASan
#      runtime preloaded (leak checks off: node itself is not built for them).
set -euo pipefail
cd "$(dirname "$0")/../.."

CXX_CLANG=${SNAPKV_SANITIZE_CXX:-$(command -v clang++-14 || command -v clang++ || true)}
CC_CLANG=${SNAPKV_SANITIZE_CC:-$(command -v clang-14 || command -v clang || true)}
if [ -z "$CXX_CLANG" ] || [ -z "$CC_CLANG" ]; then
  echo "run_sanitizers: clang is missing (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
if [ ! -d out/test ]; then
  echo "run_sanitizers: out/test is missing; run npm run build:ts first" >&2
  exit 1
fi

step() { echo; echo "== $1 ($(date -u +%H:%M:%S))"; }

step "build (clang, ASan+UBSan, CPU only) into build-sanitize/"
npx cmake-js compile --out build-sanitize --CDSNAPKV_CUDA=OFF --CDSNAPKV_SANITIZE=ON --CDSNAPKV_FUZZ=ON \
  --CDCMAKE_C_COMPILER="$CC_CLANG" --CDCMAKE_CXX_COMPILER="$CXX_CLANG"
BIN=build-sanitize/native
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=abort_on_error=1

step "native unit tests"
"$BIN/snapkv-unit-test"

step "fuzzer: replay the committed inputs"
mapfile -t COMMITTED < <(find native/fuzz/corpus native/fuzz/regressions -name '*.gguf' 2>/dev/null | sort)
"$BIN/snapkv-fuzz-model" "${COMMITTED[@]}"

step "fuzzer: ${FUZZ_RUNS:=100000} executions from seed ${FUZZ_SEED:=1}"
SCRATCH=build-sanitize/fuzz-scratch
FINDINGS=build-sanitize/fuzz-findings
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH" "$FINDINGS"
"$BIN/snapkv-fuzz-model" -runs="$FUZZ_RUNS" -seed="$FUZZ_SEED" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$FINDINGS/" "$SCRATCH" native/fuzz/corpus 2>&1 |
  grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' || { echo "run_sanitizers: the fuzzer found a crash: see $FINDINGS/" >&2; exit 1; }

step "prompt-cache fuzzer: replay the committed inputs"
mapfile -t COMMITTED < <(find native/fuzz/prefix-corpus native/fuzz/prefix-regressions -name '*.snapkvpc' 2>/dev/null | sort)
"$BIN/snapkv-fuzz-prefix" "${COMMITTED[@]}"

step "prompt-cache fuzzer: ${FUZZ_PREFIX_RUNS:=50000} executions from seed $FUZZ_SEED"
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
"$BIN/snapkv-fuzz-prefix" -runs="$FUZZ_PREFIX_RUNS" -seed="$FUZZ_SEED" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$FINDINGS/" "$SCRATCH" native/fuzz/prefix-corpus 2>&1 |
  grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' || { echo "run_sanitizers: the prompt-cache fuzzer found a crash: see $FINDINGS/" >&2; exit 1; }

step "engine CPU tests with the sanitized addon"
ASAN_RUNTIME=$("$CXX_CLANG" -print-file-name=libclang_rt.asan-x86_64.so)
# Loading, refusals, prefill, save/load, SnapKV questions, generation and one-shot; the
# logits and weight-type matrices (minutes under ASan) and one-shot's memory measurements
# (meaningless with ASan's shadow memory) are left to the plain suite.
ENGINE_TESTS=(gguf-loader model-refusals fuzz-corpus engine-api prefix-cache compact-cache one-shot)
FILES=()
for name in "${ENGINE_TESTS[@]}"; do FILES+=("out/test/$name.test.js"); done
LD_PRELOAD="$ASAN_RUNTIME" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  SNAPKV_ADDON="$PWD/build-sanitize/Release/snapkv.node" \
  node_modules/.bin/mocha --no-config --enable-source-maps --timeout 600000 --reporter dot \
  --grep 'measured in child processes' --invert "${FILES[@]}"

step "done"
