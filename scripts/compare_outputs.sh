#!/usr/bin/env bash
# Shows that a change kept behaviour: quantizes every test model (default
# config, and the DMQ config on the CNNs and the MLP) with two builds of
# `amct` and compares the records, fake-quant and deploy models byte for
# byte. Use it around a refactor:
#   cp build/bin/amct /tmp/amct-before     # before the change
#   ...change, rebuild...
#   scripts/compare_outputs.sh /tmp/amct-before build/bin/amct
# Exits 1 and names the files that differ.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
old="$1" new="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0 count=0
for model in "$root"/test/models/*.onnx; do
  name="$(basename "$model" .onnx)"
  inputs=()
  for npy in "$root/test/models/$name.inputs"/*.npy; do
    inputs+=("--calib-data=$(basename "$npy" .npy)=$npy")
  done
  configs=(default)
  case "$name" in cnn_bn|cnn_dw|cnn_1d|cnn_3d|mlp) configs+=(dmq) ;; esac
  for config in "${configs[@]}"; do
    extra=()
    [ "$config" = dmq ] && extra=(--config "$root/test/quant/dmq.cfg")
    for side in old new; do
      bin="$old"; [ "$side" = new ] && bin="$new"
      mkdir -p "$work/$side"
      "$bin" quantize --model "$model" "${inputs[@]}" --batch-num 2 "${extra[@]}" \
        --save-path "$work/$side/${name}_$config" |
        sed "s#$work/$side/#P/#g" > "$work/$side/${name}_$config.summary.txt"
    done
  done
done
for f in "$work"/old/*; do
  g="$work/new/$(basename "$f")"
  count=$((count + 1))
  if ! cmp -s "$f" "$g"; then
    echo "differs: $(basename "$f")"
    status=1
  fi
done
echo "compared $count files: $([ $status = 0 ] && echo all identical || echo some differ)"
exit $status
