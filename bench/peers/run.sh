#!/usr/bin/env bash
# Side by side on this machine: edgeattn (Google Benchmark, bench_attention and
# bench_vision, bench_rnn),
# PyTorch eager and torch.jit traced (Debian's python3-torch with OpenBLAS,
# glibc malloc),
# and ONNX Runtime (npm onnxruntime-node, installed with --ignore-scripts into
# OUT; models exported with torch.onnx.export), each with 1 and 2 threads and
# the timing rule of docs/workloads.md. Prints one line per workload and runner.
# Then the whole networks (bench_networks on the cases tools/gen_model_cases.py
# writes, against networks_bench.py's PyTorch runs and ONNX exports of the
# same weights). Usage: bench/peers/run.sh [OUT_DIR] [networks]
# (needs a Release build in build/; "networks": the networks only)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-/tmp/edgeattn-peers}
mkdir -p "$out/onnx"
# OpenBLAS: Debian's torch otherwise multiplies with the reference BLAS (20x slower)
bash tools/deps.sh python3-torch libopenblas0-pthread
command -v node >/dev/null && command -v npm >/dev/null || { echo "needs node and npm" >&2; exit 2; }
if [ ! -d "$out/node_modules/onnxruntime-node" ]; then
  (cd "$out" && npm install --silent --no-audit --no-fund --ignore-scripts onnxruntime-node@1.30.0 >/dev/null)
fi
mkdir -p "$out/onnx-networks" "$out/networks"
bash tools/deps.sh python3-torchvision
/usr/bin/python3 tools/gen_model_cases.py "$out/networks" --only mobilenet_v3_small efficientnet_b0 \
  resnet18_cbam >/dev/null
for t in 1 2; do
  /usr/bin/python3 bench/peers/networks_bench.py "$t" "$out/onnx-networks"
  NODE_PATH="$out/node_modules" node bench/peers/ort_bench.js "$out/onnx-networks" "$t" | sed "s|^network_|network/|"
  EDGEATTN_NETWORKS="$out/networks" OMP_NUM_THREADS=$t build/bench/bench_networks \
    --benchmark_filter="(network/(mobilenet|efficientnet|resnet)|fashion_graph/batch:1/).*threads:$t" \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
    awk -v t="$t" '/_median/ { sub(/_median$/, "", $1); sub(/\/threads:[0-9]\/real_time/, "", $1);
                               sub(/fashion_graph\/batch:1/, "network/fashion_cbam", $1);
                               print $1, "edgeattn", "threads=" t, "median_us=" ($3 == "us" ? $2 : $2 / 1000) }'
done
[ "${2:-}" = networks ] && exit 0
for t in 1 2; do
  /usr/bin/python3 bench/peers/torch_bench.py "$t" "$out/onnx"
  NODE_PATH="$out/node_modules" node bench/peers/ort_bench.js "$out/onnx" "$t"
  for b in "attention:W1.*threads:$t|W2|W9" "vision:threads:$t" "rnn:threads:$t"; do
    OMP_NUM_THREADS=$t build/bench/bench_${b%%:*} --benchmark_filter="${b#*:}" \
      --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
      awk -v t="$t" '/_median/ { sub(/_median$/, "", $1); sub(/\/threads:[0-9]\/real_time/, "", $1);
                                 print $1, "edgeattn", "threads=" t, "median_us=" ($3 == "us" ? $2 : $2 / 1000) }'
  done
done
