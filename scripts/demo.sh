#!/usr/bin/env bash
# The main job on a bundled trained CNN (Conv, BatchNorm, residual Add,
# pooling, Gemm; 99.7% on held-out digits): write AMCT's config, quantize
# (calibration on real digits), simulate the Ascend deploy model on the CPU
# executor, and have ONNX Runtime check the fake-quant model against fp32;
# then int4 GPTQ weights for the bundled Llama-shaped character model.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh" >/dev/null
bin="${AMCT_BUILD_DIR:-$root/build}/bin"
model="$root/test/models/cnn_bn.onnx"
data="$root/test/models/cnn_bn.inputs/input.npy"
out="${AMCT_DEMO_OUT:-$root/build/demo}"
rm -rf "$out" && mkdir -p "$out"

echo "== amct inspect --model test/models/cnn_bn.onnx"
"$bin/amct" inspect --model "$model"
echo
echo "== amct create-config -> $out/config.json"
"$bin/amct" create-config --model "$model" -o "$out/config.json" --batch-num 2
echo
echo "== amct quantize (64 held-out digits, 2 batches)"
"$bin/amct" quantize --model "$model" --config "$out/config.json" \
  --calib-data "input=$data" --save-path "$out/cnn_bn"
echo
echo "== amct run on the deploy model (AscendQuant / int8 conv / AscendDequant simulated on CPU)"
"$bin/amct" run --model "$out/cnn_bn_deploy_model.onnx" --input "input=$data" --output-dir "$out/deploy_out"
echo
echo "== ONNX Runtime: fake-quant model vs fp32, and the deploy simulation vs fake-quant"
/usr/bin/python3 "$root/test/quant/fake_quant_accuracy.py" --amct "$bin/amct" "$model" | grep -E "^  |accuracy:"
echo
echo "== a language model: the bundled Llama-shaped character model, int4 weights in groups of 32 by GPTQ"
cat > "$out/llm.json" <<'JSON'
{"batch_num": 4,
 "quant_cfg": {"weights": {"type": "int4", "symmetric": true, "strategy": "group", "group_size": 32}},
 "algorithm": "gptq",
 "skip_layers": ["lm_head"]}
JSON
llm="$root/test/llm"
"$bin/amct" quantize --model "$llm/char_lm.onnx" --config "$out/llm.json" \
  --calib-data "tokens=$llm/char_lm.calib.npy" --save-path "$out/char_lm" | tail -6
echo
echo "== amct inspect on its deploy model (WeightQuantBatchMatmulV2, int4 packed two per byte)"
"$bin/amct" inspect --model "$out/char_lm_deploy_model.onnx" | sed -n '/^layers:/,$p' | head -5
echo
echo "== the same model W8A8 (int8 inputs per token, SmoothQuant) with an int8 KV cache"
cat > "$out/w8a8.json" <<'JSON'
{"batch_num": 4,
 "quant_cfg": {"weights": {"type": "int8", "strategy": "channel"},
               "inputs": {"type": "int8", "strategy": "token"}},
 "algorithm": "smoothquant",
 "skip_layers": ["lm_head"]}
JSON
"$bin/amct" create-config --model "$llm/char_lm.onnx" --kv-cache -o "$out/kv.cfg"
"$bin/amct" quantize --model "$llm/char_lm.onnx" --config "$out/w8a8.json" \
  --kv-cache-config "$out/kv.cfg" --calib-data "tokens=$llm/char_lm.calib.npy" \
  --save-path "$out/char_lm_w8a8" | tail -6
echo
echo "outputs in $out"
