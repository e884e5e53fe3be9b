#!/usr/bin/env bash
# The speed targets' rows in repeated rounds, for a machine whose speed moves
# between runs: each round runs every benchmark binary once
# (--benchmark_repetitions=5, medians), and the summary gives per row the
# minimum, median and maximum over the rounds of the median time and of its
# counter (peak_frac, l2_frac or GBps), and in how many rounds the counter
# met the row's target.
# Usage: tools/target_runs.sh ROUNDS [BUILD_DIR]   (default build)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 ROUNDS [BUILD_DIR]" >&2; exit 2; }
rounds=$1 build=${2:-build}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# row filter, binary, counter, target (the issues' thresholds on the counter)
rows() {
  cat <<'EOF'
W1_sdpa_L128_d64/threads:1/ attention peak_frac 0.70
W1_sdpa_L1024_d64/threads:1/ attention peak_frac 0.80
W1_sdpa_L4096_d64/threads:1/ attention peak_frac 0.80
W1_sdpa_L1024_d64/threads:2/ attention peak_frac 0.75
W1_sdpa_L4096_d64/threads:2/ attention peak_frac 0.75
W2_bahdanau_full attention peak_frac 0.70
W6_nonlocal_64x32x32/threads:1/ vision peak_frac 0.70
W3_se_64x32x32/threads:1/ vision GBps 70
W3_se_256x14x14/threads:1/ vision GBps 70
W4_cbam_64x32x32/threads:1/ vision GBps 50
W5_eca_256x14x14/threads:1/ vision GBps 70
EOF
}

# One run per binary and counter: Google Benchmark's CSV needs the same
# counters on every row.
filter_of() { rows | awk -v b="$1" -v c="$2" '$2 == b && $3 == c { f = f (f ? "|" : "") $1 } END { print f }'; }

for r in $(seq "$rounds"); do
  for run in "attention peak_frac" "vision peak_frac" "vision GBps"; do
    read -r bin counter <<<"$run"
    "$build/bench/bench_$bin" --benchmark_filter="$(filter_of "$bin" "$counter")" --benchmark_repetitions=5 \
      --benchmark_report_aggregates_only=true --benchmark_format=csv 2>/dev/null |
      awk -F, -v r="$r" 'NR == 1 { for (i = 1; i <= NF; ++i) { gsub(/"/, "", $i); col[$i] = i } next }
        $1 ~ /_median"$/ {
          name = $1; gsub(/"|_median$/, "", name)
          t = $3; if ($5 == "ns") t /= 1000; if ($5 == "ms") t *= 1000
          printf "%s %s %s %s %s\n", r, name, t, \
            ("peak_frac" in col ? $col["peak_frac"] : "-"), ("GBps" in col ? $col["GBps"] : "-") }' >>"$tmp"
  done
done

printf '%-40s %8s %26s %22s %s\n' row rounds "median time us min/med/max" "counter min/med/max" met
rows | while read -r filt bin counter target; do
  awk -v f="$filt" -v c="$counter" -v tg="$target" '
    function med(a, n,   i, j, x) { for (i = 2; i <= n; ++i) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; --j) a[j + 1] = a[j]; a[j + 1] = x }
                                     return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    index($2 "/", f) == 1 || $2 == f {
      ++n; t[n] = $3; v[n] = (c == "GBps" ? $5 : $4); if (v[n] + 0 >= tg + 0) ++ok }
    END { if (!n) exit
          for (i = 1; i <= n; ++i) { ts[i] = t[i]; vs[i] = v[i] }
          mt = med(ts, n); mv = med(vs, n)
          printf "%-40s %8d %8.1f/%8.1f/%8.1f %6.3g/%6.3g/%6.3g %d of %d (%s >= %s)\n", f, n,
                 ts[1], mt, ts[n], vs[1], mv, vs[n], ok, n, c, tg }' "$tmp"
done
