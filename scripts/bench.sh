#!/usr/bin/env bash
# Benchmarks: ONNX import + export of a generated ResNet-50-sized model
# (~100 MB of weights). Prints time and peak memory; README keeps the figures.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${AMCT_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh" amct-bench-onnx >/dev/null
mkdir -p "$build/bench"
model="$build/bench/resnet50_random.onnx"
[ -f "$model" ] || /usr/bin/python3 "$root/test/models/make_models.py" --big "$model"
"$build/bin/amct-bench-onnx" "$model" --benchmark_min_time=1
