#!/usr/bin/env bash
# Installs everything amct-mlir needs on Debian 12 (run as root, apt reachable).
# Idempotent: installs only what is missing, so re-running it is cheap.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

APT_PACKAGES=(
  cmake ninja-build ccache g++ pkg-config
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libonnx-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libopenblas-dev
  libonnx-testdata python3-onnx python3-numpy python3-torch python3-torchvision
  python3-sklearn python3-pil pybind11-dev python3-pytest chromium
  clang-19 libclang-rt-19-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js may come from Debian or from another vendor; only install it when absent.
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

# ONNX Runtime is the independent judge of every exported model; keep it out of git.
ORT_DIR="$root/third_party/ort"
ORT_VERSION=1.30.0
if [ ! -f "$ORT_DIR/node_modules/onnxruntime-node/package.json" ] ||
   ! grep -q "\"version\": \"$ORT_VERSION\"" "$ORT_DIR/node_modules/onnxruntime-node/package.json"; then
  echo "setup: installing onnxruntime-node@$ORT_VERSION into $ORT_DIR"
  mkdir -p "$ORT_DIR"
  (cd "$ORT_DIR" && [ -f package.json ] || echo '{"name":"amct-ort","private":true}' > package.json)
  (cd "$ORT_DIR" && npm install --no-audit --no-fund --ignore-scripts "onnxruntime-node@$ORT_VERSION" >/dev/null)
fi
