#!/usr/bin/env bash
# Builds amct-mlir and runs every test (lit IR and tool tests, gtest unit
# tests, ONNX Runtime round trips) through ctest. Exits non-zero on any failure.
#   scripts/test.sh              release build in build/
#   scripts/test.sh --sanitize   ASan + UBSan build in build-sanitize/
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${1:-}" = "--sanitize" ]; then
  export AMCT_BUILD_DIR="$root/build-sanitize" AMCT_SANITIZE=1 AMCT_BUILD_TYPE=RelWithDebInfo
  # allow_user_poisoning=0: see scripts/fuzz.sh (LLVM allocator poisoning vs
  # the uninstrumented Debian MLIR libraries).
  export ASAN_OPTIONS=detect_leaks=0:allow_user_poisoning=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  shift
fi
build="${AMCT_BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"
"$root/scripts/build.sh" AmctUnitTests
cd "$build"
ctest --output-on-failure "$@"
