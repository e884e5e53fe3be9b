#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes the
# loader and verify path (graph models included) for SECONDS (default 60),
# starting from the golden cases and tests/fuzz/seeds, then the .npy reader
# for a quarter of that from tests/fuzz/seeds_npy.
# Usage: tools/fuzz.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
dir=${2:-build-fuzz}
bash tools/deps.sh clang libclang-rt-14-dev
CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDGEATTN_FUZZ=ON \
  -DEDGEATTN_OPENMP=OFF -DEDGEATTN_BUILD_TESTS=OFF -DEDGEATTN_BUILD_BENCH=OFF \
  -DEDGEATTN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fuzz_verify fuzz_npy
corpus="$dir/corpus"
rm -rf "$corpus" && mkdir -p "$corpus"
cp tests/data/cases/*.safetensors tests/fuzz/seeds/*.safetensors "$corpus"/
"$dir/tests/fuzz/fuzz_verify" -max_total_time="$secs" -max_len=131072 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 "$corpus" 2>&1 | tail -n 12
npy_corpus="$dir/corpus_npy"
rm -rf "$npy_corpus" && mkdir -p "$npy_corpus"
cp tests/fuzz/seeds_npy/*.npy "$npy_corpus"/
(cd "$dir" && "tests/fuzz/fuzz_npy" -max_total_time="$((secs / 4 + 1))" -max_len=8192 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 "corpus_npy" 2>&1 | tail -n 12)
