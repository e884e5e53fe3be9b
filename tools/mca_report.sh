#!/usr/bin/env bash
# ARM speed evidence without a board: llvm-mca's models of the NEON inner
# loops as the cross compiler emits them (the GEMM micro-kernel at every row
# count, GEMV, transposed GEMV, the RNN step's panel GEMV, exp, and the FMA
# peak probe), for the cores of the Raspberry Pis. Prints a markdown table:
# cycles per iteration, flops per cycle, and that as a fraction of the same
# core model's FMA peak (12 independent accumulating FMAs).
#
#   bash tools/mca_report.sh [--check BASELINE]
#
# --check: fail when a region models more than 3% slower than BASELINE (a
# table printed by this script; CI keeps the micro-kernel from regressing).
#
# Core models: Cortex-A53 (Pi 3, Zero 2) has its own; LLVM has no A72
# (Pi 4) model, so its A57 model stands in (the same 2 x 128-bit FP pipes);
# for the A76 (Pi 5), -mcpu=cortex-a76 falls back to the A57 model in LLVM
# 14-19, so LLVM 19's neoverse-n1 model (the A76's server twin) is used.
# A model is not a measurement: it knows pipes and latencies, not caches.
set -euo pipefail
cd "$(dirname "$0")/.."
check=""
[ "${1:-}" = --check ] && check=$2
mca=$(command -v llvm-mca-19 || true)
[ -n "$mca" ] || { echo "needs llvm-mca-19 (apt-get install llvm-19)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

asm() {  # compiler flags... -> $out/kernels.s
  "$@" -O3 -std=c++17 -ffp-contract=off -DEDGEATTN_MCA_MARKERS -Iinclude -Isrc -I"$out" \
    -S tools/mca/kernels.cpp -o "$out/kernels.s"
}
mkdir -p "$out/edgeattn"
printf '#pragma once\n#define EDGEATTN_VERSION "mca"\n' > "$out/edgeattn/version.h"

# One region of the assembly, the instructions only. (GNU as takes a NEON
# immediate as its unsigned bits, #4294901760; LLVM's wants it signed.)
region() {
  awk -v r="$1" '$0 ~ "LLVM-MCA-BEGIN " r "$" { on = 1; next } $0 ~ "LLVM-MCA-END " r "$" { on = 0 }
                 on && /^\t[a-z]/ { if (match($0, /#[0-9]+/)) { v = substr($0, RSTART + 1, RLENGTH - 1) + 0
                                                              if (v >= 2147483648) $0 = substr($0, 1, RSTART) (v - 4294967296) substr($0, RSTART + RLENGTH) }
                                    print }' "$out/kernels.s"
}

# The core's modelled FMA peak: 12 independent 4-lane FMAs, each chained
# through its accumulator (the operand ARM cores forward fastest).
peak_loop() {  # triple
  for i in $(seq 0 11); do
    case "$1" in
      aarch64*) printf '\tfmla\tv%d.4s, v30.4s, v31.4s\n' "$i" ;;
      *) printf '\tvfma.f32\tq%d, q14, q15\n' "$i" ;;
    esac
  done
}

# "cycles flops" per iteration of region $1 on core $2 (triple $3); the
# region "peak" is peak_loop's.
model() {
  if [ "$1" = peak ]; then peak_loop "$3" > "$out/r.s"; else region "$1" > "$out/r.s"; fi
  local fmla cycles
  fmla=$(grep -cE '^\s+(fmla|vfma\.f32)\s' "$out/r.s" || true)
  cycles=$("$mca" -mtriple="$3" -mcpu="$2" -iterations=1000 "$out/r.s" 2>/dev/null |
           awk '/^Total Cycles:/ { printf "%.2f", $3 / 1000 }')
  echo "${cycles:-nan} $((fmla * 8))"  # a 4-lane FMA is 8 flops
}

report() {  # triple cores...
  local triple=$1
  shift
  local regions
  regions=$(grep -oE 'LLVM-MCA-BEGIN [a-z_]+_[0-9]+' "$out/kernels.s" | awk '{print $2}' | sort -u)
  for core in "$@"; do
    read -r peak_cycles peak_flops <<< "$(model peak "$core" "$triple")"
    for r in $regions; do
      read -r cycles flops <<< "$(model "$r" "$core" "$triple")"
      awk -v t="$triple" -v c="$core" -v r="$r" -v y="$cycles" -v f="$flops" -v py="$peak_cycles" -v pf="$peak_flops" \
        'BEGIN { fpc = f / y; printf "| %s | %s | %s | %.2f | %.1f | %.2f |\n", t, c, r, y, fpc, fpc / (pf / py) }'
    done
  done
}

table() {
  echo "| target | core model | loop | cycles / iteration | flops / cycle | of the core's FMA peak |"
  echo "| --- | --- | --- | --- | --- | --- |"
  asm aarch64-linux-gnu-g++ -march=armv8-a
  report aarch64-linux-gnu cortex-a53 cortex-a57 neoverse-n1
  asm arm-linux-gnueabihf-g++ -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard
  report armv7a-linux-gnueabihf cortex-a57  # (LLVM's 32-bit ARM has no A53 model)
}

if [ -z "$check" ]; then
  table
  exit 0
fi
table > "$out/now.md"
# Every baseline row's loop must model within 3% of its cycles now.
awk -F'|' 'NR == FNR { if ($5 ~ /[0-9]/) now[$2 $3 $4] = $5 + 0; next }
           $5 ~ /[0-9]/ { k = $2 $3 $4; if (!(k in now)) { print "missing:" k; bad = 1 }
                          else if (now[k] > 1.03 * $5) { printf "slower:%s %.2f -> %.2f cycles\n", k, $5, now[k]; bad = 1 } }
           END { exit bad }' "$out/now.md" "$check"
echo "modelled loops within 3% of $check"
