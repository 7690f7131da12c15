#!/usr/bin/env bash
# Configures (once) and builds amct-mlir into build/ (or $AMCT_BUILD_DIR).
# Runs scripts/setup.sh first when a needed package or tool is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${AMCT_BUILD_DIR:-$root/build}"

need_setup=0
for f in /usr/lib/llvm-19/lib/cmake/mlir/MLIRConfig.cmake /usr/include/onnx/onnx-ml.pb.h \
         /usr/share/libonnx-testdata/data /usr/bin/ninja /usr/bin/ccache \
         /usr/lib/cmake/pybind11/pybind11Config.cmake /usr/bin/chromium \
         "$root/third_party/ort/node_modules/onnxruntime-node/package.json"; do
  [ -e "$f" ] || need_setup=1
done
/usr/bin/python3 -c "import onnx, numpy, pytest" 2>/dev/null || need_setup=1
if [ "$need_setup" = 1 ]; then "$root/scripts/setup.sh"; fi

# The sanitizer build uses clang so the same build also carries the
# libFuzzer targets (fuzz/, scripts/fuzz.sh).
cc=gcc cxx=g++
extra=()
if [ -n "${AMCT_SANITIZE:-}" ]; then
  cc=clang-19 cxx=clang++-19
  extra+=(-DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
          -DAMCT_ENABLE_FUZZERS=ON)
  command -v clang++-19 >/dev/null || "$root/scripts/setup.sh"
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE="${AMCT_BUILD_TYPE:-Release}" \
    -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
    -DLLVM_DIR=/usr/lib/llvm-19/lib/cmake/llvm \
    -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DPython3_EXECUTABLE=/usr/bin/python3 \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-19/build/utils/lit/lit.py \
    "${extra[@]}"
fi
if (($#)); then cmake --build "$build" -j "${AMCT_JOBS:-2}" --target "$@"; else cmake --build "$build" -j "${AMCT_JOBS:-2}"; fi
