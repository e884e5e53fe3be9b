#!/usr/bin/env bash
# Builds edgeattn (Release) and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEDGEATTN_BUILD_TESTS=OFF -DEDGEATTN_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target edgeattn_demo
./build/examples/edgeattn_demo
