#!/usr/bin/env bash
# The main job on a bundled model: import a trained CNN (Conv, BatchNorm,
# residual Add, pooling, Gemm) into amct IR, show it, export it back to ONNX
# through amct-opt, and have ONNX Runtime check that the exported model gives
# the original's outputs on real held-out digits.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh" >/dev/null
bin="${AMCT_BUILD_DIR:-$root/build}/bin"
model="$root/test/models/cnn_bn.onnx"
out="${AMCT_DEMO_OUT:-$root/build/demo}"
mkdir -p "$out"

echo "== amct inspect --model test/models/cnn_bn.onnx"
"$bin/amct" inspect --model "$model"
echo
echo "== amct-translate --import-onnx -> $out/cnn_bn.mlir (first ops)"
"$bin/amct-translate" --import-onnx "$model" -o "$out/cnn_bn.mlir"
grep -m 8 -E "amct\.(Conv|BatchNormalization|Relu|Add|Gemm)" "$out/cnn_bn.mlir" | cut -c1-160
echo
echo "== amct-opt cnn_bn.onnx -o $out/cnn_bn.roundtrip.onnx"
"$bin/amct-opt" "$model" -o "$out/cnn_bn.roundtrip.onnx"
echo
echo "== ONNX Runtime: original vs exported on the bundled test digits"
/usr/bin/python3 "$root/test/roundtrip/roundtrip.py" --translate "$bin/amct-translate" \
  --work "$out/roundtrip" --models "$model"
echo
echo "outputs in $out"
