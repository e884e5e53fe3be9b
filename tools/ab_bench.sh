#!/usr/bin/env bash
# Before/after timing on a noisy machine: runs two (or more) benchmark
# binaries in interleaved rounds and prints, per benchmark and binary, the
# minimum over the rounds of Google Benchmark's real time, in microseconds.
# Interleaving puts both binaries under the same neighbours' load; the
# minimum is the least disturbed run.
# Usage: tools/ab_bench.sh FILTER ROUNDS BINARY... (e.g. a copy of
#   build/bench/bench_attention built at the old commit, and the new one)
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 FILTER ROUNDS BINARY..." >&2; exit 2; }
filter=$1 rounds=$2
shift 2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.15 2>/dev/null |
      awk -v b="$bin" '$1 !~ /^(Benchmark|-)/ && NF >= 3 && $2 ~ /^[0-9.]+$/ { print b, $1, $2, $3 }' >>"$tmp"
  done
done
awk '{ v = $3; if ($4 == "ms") v *= 1000; if ($4 == "ns") v /= 1000; k = $2 "  " $1
       if (!(k in m) || v < m[k]) m[k] = v }
     END { for (k in m) printf "%-70s %12.3f us\n", k, m[k] }' "$tmp" | sort
