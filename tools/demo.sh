#!/usr/bin/env bash
# Builds edgeattn (Release) and runs the demos: one attention step, then the
# examples with trained models (pictures are written to build/examples/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh zlib1g-dev dataset-fashion-mnist
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEDGEATTN_BUILD_TESTS=OFF -DEDGEATTN_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target edgeattn_demo fashion_cbam elnino_forecast
./build/examples/edgeattn_demo
echo
(cd build/examples && ./fashion_cbam && echo && ./elnino_forecast)
echo "pictures: $(pwd)/build/examples/fashion_cbam_attention.png, $(pwd)/build/examples/elnino_forecast.svg"
