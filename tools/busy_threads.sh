#!/usr/bin/env bash
# Threads on a busy machine: fashion_cbam's throughput (10,000 images) with
# the library's default thread count against --threads 1, on a quiet machine
# and with one and two busy loops started just after the process (as other
# programs on a board would be). ROUNDS interleaved rounds (default 5); per
# setting the median and minimum images/s and the median's ratio to one
# thread. Usage: tools/busy_threads.sh [ROUNDS]   (needs build/examples/fashion_cbam)
set -euo pipefail
cd "${EDGEATTN_BUILD:-$(dirname "$0")/../build}/examples"
rounds=${1:-5}
tmp=$(mktemp)
trap 'rm -f "$tmp"; kill $(jobs -p) 2>/dev/null || true' EXIT

run() {  # busy-loop count, thread flag...
  local loops=$1
  shift
  ./fashion_cbam "$@" >"$tmp.out" &
  local pid=$! pids=()
  for _ in $(seq "$loops"); do
    sh -c 'while :; do :; done' &
    pids+=($!)
  done
  wait "$pid"
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}"
  wait 2>/dev/null || true
  sed -n 's/^throughput: \([0-9]*\) images.*/\1/p' "$tmp.out"
}

for _ in $(seq "$rounds"); do
  for loops in 0 1 2; do
    echo "$loops default $(run "$loops")" >>"$tmp"
    echo "$loops one $(run "$loops" --threads 1)" >>"$tmp"
  done
done
rm -f "$tmp.out"
echo "busy loops | threads | median images/s | min | median / one thread"
for loops in 0 1 2; do
  one=$(awk -v l="$loops" '$1 == l && $2 == "one" { print $3 }' "$tmp" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  for mode in default one; do
    awk -v l="$loops" -v m="$mode" -v one="$one" '$1 == l && $2 == m { print $3 }' "$tmp" | sort -n |
      awk -v l="$loops" -v m="$mode" -v one="$one" '{ v[NR] = $1 }
        END { med = v[int((NR + 1) / 2)]; printf "%s | %s | %d | %d | %.2f\n", l, m, med, v[1], med / one }'
  done
done
