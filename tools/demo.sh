#!/usr/bin/env bash
# Builds edgeattn (Release) and its tools (build/src/edgeattn-verify,
# edgeattn-bench), and runs the demos: one attention step, then the examples
# with trained models (pictures are written to build/examples/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh zlib1g-dev dataset-fashion-mnist
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEDGEATTN_BUILD_TESTS=OFF -DEDGEATTN_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target edgeattn_demo fashion_cbam elnino_forecast translate_dates \
  edgeattn-verify edgeattn-bench
./build/examples/edgeattn_demo
for ex in fashion_cbam elnino_forecast translate_dates; do
  echo
  (cd build/examples && "./$ex")
done
echo
echo "pictures in $(pwd)/build/examples/: fashion_cbam_attention.png elnino_forecast.svg translate_dates_alignment.svg"
echo "tools in $(pwd)/build/src/: edgeattn-verify edgeattn-bench (export PATH=\"$(pwd)/build/src:\$PATH\")"
