#!/usr/bin/env bash
# Builds edgeattn (Release) and its tools (build/src/edgeattn-verify,
# edgeattn-bench, edgeattn-run), and runs the demos: one attention step, the
# examples with trained models (pictures are written to build/examples/),
# and the fashion model file run by edgeattn-run on one .npy image.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh zlib1g-dev dataset-fashion-mnist
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEDGEATTN_BUILD_TESTS=OFF -DEDGEATTN_BUILD_BENCH=OFF >/dev/null
cmake --build build -j"$(nproc)" --target edgeattn_demo fashion_cbam elnino_forecast translate_dates \
  fashion_top5 edgeattn-verify edgeattn-bench edgeattn-run
./build/examples/edgeattn_demo
for ex in fashion_cbam elnino_forecast translate_dates; do
  echo
  (cd build/examples && "./$ex")
done
echo
./build/examples/fashion_top5 examples/data/fashion_sample.npy
echo
echo "the same model file with no C++: edgeattn-run"
./build/src/edgeattn-run examples/models/fashion_cbam.safetensors --input input=examples/data/fashion_sample_normalised.npy
echo
echo "pictures in $(pwd)/build/examples/: fashion_cbam_attention.png elnino_forecast.svg translate_dates_alignment.svg"
echo "tools in $(pwd)/build/src/: edgeattn-verify edgeattn-bench edgeattn-run (export PATH=\"$(pwd)/build/src:\$PATH\")"
