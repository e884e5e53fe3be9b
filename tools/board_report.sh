#!/usr/bin/env bash
# The board report: run on the board (Raspberry Pi or any machine) after a
# Release build; prints the CPU, the ISA edgeattn runs, the measured FMA peak
# and bandwidth, and a markdown table of the standard workloads (W1-W9 of
# docs/workloads.md) and the fashion model: median and min microseconds,
# GFLOP/s or GB/s, and the fraction of the measured peak, on one thread and
# on all of them. Whole networks too when EDGEATTN_NETWORKS names a directory
# of network cases (tools/gen_model_cases.py).
#
#   bash tools/board_report.sh [--quick] [BUILD_DIR]     (BUILD_DIR: build)
#
# --quick: the small workloads only, probes cut short (CI runs it under
# qemu with EDGEATTN_RUNNER set to the emulator; its figures mean nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = --quick ] && quick=1 && shift
build=${1:-build}
read -r -a run <<< "${EDGEATTN_RUNNER:-}"
reps=3 min_time=0.5
[ $quick = 1 ] && reps=2 min_time=0.001 && export EDGEATTN_BENCH_QUICK_PEAK=1

cpu=$(grep -m1 -E '^(model name|Model|Hardware)' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
part=$(grep -m1 '^CPU part' /proc/cpuinfo | awk '{print $NF}' || true)
case "$part" in  # Arm's part numbers: which core a Pi has
  0xd03) core="Cortex-A53 (Pi 3, Zero 2)" ;; 0xd08) core="Cortex-A72 (Pi 4)" ;;
  0xd0b) core="Cortex-A76 (Pi 5)" ;; 0xb76) core="ARM1176 (Pi 1, Zero)" ;;
  0xc07) core="Cortex-A7 (Pi 2)" ;; "") core="" ;; *) core="part $part" ;;
esac
smoke=$("${run[@]}" "$build/src/edgeattn-bench" --smoke bench/cases/W2_luong_dot.case.safetensors)
isa=$(sed -n 's/.* isa=\([a-z0-9]*\) threads=\([0-9]*\).*/\1/p' <<< "$smoke")
all=$(sed -n 's/.* threads=\([0-9]*\).*/\1/p' <<< "$smoke")
echo "# edgeattn board report"
echo
echo "- CPU: ${cpu:-unknown}${core:+, $core}; $(nproc) cores; $(uname -m)"
echo "- ISA in use: $isa; threads by default: $all"
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"

# One benchmark's row "| name | median | min | rate | fraction |": the
# median row carries the counters, the minimum is over the repetitions.
# (One benchmark per run: the CSV reporter wants one set of counters.)
row() {  # program name
  "${run[@]}" "$build/bench/bench_$1" --benchmark_filter="^$2\$" --benchmark_min_time=$min_time \
    --benchmark_repetitions=$reps --benchmark_format=csv 2>/dev/null |
    awk -F, '
      NR == 1 { for (i = 1; i <= NF; i++) { gsub(/"/, "", $i); col[$i] = i }; next }
      { gsub(/"/, "", $1); us = $3 * ($5 == "ms" ? 1000 : $5 == "ns" ? 0.001 : 1) }
      $1 ~ /_(mean|stddev|cv)$/ { next }
      $1 ~ /_median$/ {
        med = us
        if ("GFLOPS" in col) { rate = sprintf("%.2f GFLOP/s", $col["GFLOPS"]); frac = sprintf("%.2f of FMA", $col["peak_frac"]) }
        else if ("GBps" in col) { rate = sprintf("%.2f GB/s", $col["GBps"]); frac = sprintf("%.2f of L2 triad", $col["l2_frac"]) }
        next }
      { if (lo == "" || us < lo) lo = us }
      END { sub(/\/real_time$/, "", name)
            if (med == "") { printf "| %s | failed | | | |\n", name; exit 1 }
            printf "| %s | %.1f | %.1f | %s | %s |\n", name, med, lo,
                   rate == "" ? "-" : rate, frac == "" ? "-" : frac }' name="$2"
}
rows() {  # program filter
  "${run[@]}" "$build/bench/bench_$1" --benchmark_list_tests --benchmark_filter="$2" 2>/dev/null |
    while read -r name; do row "$1" "$name"; done
}

peak() {  # filter unit
  "${run[@]}" "$build/bench/bench_kernels" --benchmark_filter="$1" --benchmark_format=csv 2>/dev/null |
    awk -F, -v unit="$2" 'NR > 1 { gsub(/"/, "", $1); sub(/^peak\//, "", $1); sub(/\/iterations:1$/, "", $1)
                                   printf "%s %.1f %s; ", $1, $NF, unit }'
}
echo "- measured peaks (bench_kernels): $(peak "^peak/fma/$isa/" GFLOP/s)$(peak '^peak/triad/(L2|DRAM)' GB/s)"
echo
echo "| workload / threads | median (us) | min (us) | rate | fraction of peak |"
echo "| --- | --- | --- | --- | --- |"
if [ $quick = 1 ]; then
  rows attention '^(W2_luong_dot|W1_sdpa_L128_d64/)'
  rows vision '^W5_eca'
  rows rnn '^W8_lstm96_attn/threads'
  rows networks '^fashion_graph/batch:1/'
else
  rows attention '^W[0-9]'
  rows vision '^W[0-9]'
  rows rnn '^W[0-9]'
  rows networks '^(fashion_graph/batch:1/|network/)'
fi
echo
echo "Median and min over $reps repetitions of Google Benchmark's timing; rates count"
echo "the flops or bytes of docs/workloads.md; fractions are against the peaks above."
