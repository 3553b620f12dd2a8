#!/usr/bin/env bash
# Builds the CUDA kernels for every target architecture with ptxas's resource
# report (-Xptxas -v) and warnings as errors (nvcc's and the host compiler's
# -Wall -Wextra), prints registers / stack / spills per kernel and
# architecture, and fails when a hot kernel spills registers to local memory.
#
#   native/tools/check_spills.sh [BUILD_DIR]        (default: /tmp/snapkv-spill-check)
#   SNAPKV_CUDA_ARCHS="90" native/tools/check_spills.sh   (one architecture, faster)
#   SNAPKV_WERROR=0 native/tools/check_spills.sh           (warnings reported, not fatal)
#
# Needs nvcc and CMake; no GPU.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${TMPDIR:-/tmp}/snapkv-spill-check}
archs=${SNAPKV_CUDA_ARCHS:-"80;86;89;90"}
log="$build/ptxas-report.log"

# The kernels whose speed matters: a spill in one of these fails the check.
hot='gemm_kernel|flash_prefill_kernel|matvec_kernel|decode_split_kernel|row_stats_kernel|column_scores_kernel|select_kernel|sample_kernel|rms_norm_kernel|rope_kernel|swiglu_kernel'

generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi  # ninja keeps each compile's output together

cuda_flags="-Werror=all-warnings -Xcompiler=-Wall,-Wextra,-Werror"
[ "${SNAPKV_WERROR:-1}" = 0 ] && cuda_flags="-Xcompiler=-Wall,-Wextra"
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$archs" -DSNAPKV_CUDA_RESOURCE_USAGE=ON \
  -DCMAKE_CUDA_FLAGS="$cuda_flags" >/dev/null
if ! grep -q 'SNAPKV_WITH_CUDA' "$build/CMakeCache.txt" 2>/dev/null && ! grep -q 'CMAKE_CUDA_COMPILER:' "$build/CMakeCache.txt"; then
  echo "check_spills: no CUDA compiler found by CMake" >&2
  exit 2
fi
# Rebuild the kernels so that their reports are printed again.
find "$build" -name '*.cu.o' -delete 2>/dev/null || true
if [ ${#generator[@]} -gt 0 ]; then
  cmake --build "$build" --target snapkv_core snapkv-kernel-test snapkv-run snapkv-write-model snapkv-unit-test 2>&1 | tee "$log" >/dev/null || { grep -E 'error|warning' "$log" | head -40; echo "check_spills: build failed (warnings are errors here); see $log" >&2; exit 1; }
else
  cmake --build "$build" --target snapkv_core snapkv-kernel-test snapkv-run snapkv-write-model snapkv-unit-test -- -j1 2>&1 | tee "$log" >/dev/null || { grep -E 'error|warning' "$log" | head -40; echo "check_spills: build failed; see $log" >&2; exit 1; }
fi

demangle() { if command -v c++filt >/dev/null 2>&1; then c++filt; else cat; fi; }

# ptxas prints, per kernel and architecture: "Compiling entry function 'NAME'
# for 'sm_XX'", then "N bytes stack frame, N bytes spill stores, N bytes spill
# loads" and "Used N registers".
awk -v hot="$hot" '
  /Compiling entry function/ {
    match($0, /function .[^'"'"']*/); name = substr($0, RSTART + 10, RLENGTH - 10)
    match($0, /for .sm_[0-9a-z]*/); arch = substr($0, RSTART + 5, RLENGTH - 5)
    next
  }
  /bytes stack frame/ { stack = $1; stores = $5; loads = $9; next }
  /Used [0-9]+ registers/ {
    match($0, /Used [0-9]+ registers/); regs = substr($0, RSTART + 5, RLENGTH - 15)
    if (name == "") next
    is_hot = (name ~ hot) ? "hot" : "-"
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", arch, regs, stack, stores, loads, is_hot, name
    if (is_hot == "hot" && (stores + 0 > 0 || loads + 0 > 0)) bad++
    name = ""
  }
  END { exit bad > 0 ? 1 : 0 }
' "$log" > "$build/ptxas-table.tsv" && status=0 || status=$?

printf '%-7s %5s %6s %7s %7s %-4s %s\n' arch regs stack spillST spillLD hot kernel
sort -t$'\t' -k7,7 -k1,1 "$build/ptxas-table.tsv" | while IFS=$'\t' read -r arch regs stack stores loads is_hot name; do
  printf '%-7s %5s %6s %7s %7s %-4s %s\n' "$arch" "$regs" "$stack" "$stores" "$loads" "$is_hot" "$(echo "$name" | demangle | sed -E 's/^void //; s/snapkv::gpu::\(anonymous namespace\):://; s/snapkv::\(anonymous namespace\):://; s/\(.*$//')"
done
kernels=$(wc -l < "$build/ptxas-table.tsv")
if [ "$kernels" -eq 0 ]; then
  echo "check_spills: no ptxas report found in $log" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "check_spills: FAIL: a hot kernel spills registers (see the rows above with spills)" >&2
  exit 1
fi
warnings=$(grep -ciE 'warning' "$log" || true)
echo "check_spills: $kernels kernel builds for sm ${archs//;/, }, $warnings warning lines, no spills in the hot kernels"
