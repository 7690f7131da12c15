#!/usr/bin/env bash
# The PTQ flow one step at a time, each step's output feeding the next: the
# README's "Pass by pass" example. test/Tools/pass-by-pass.test runs this
# script and checks that it ends in the same record, fake-quant and deploy
# models as the one-shot `amct quantize`.
#
#   docs/examples/pass-by-pass.sh MODEL.onnx NAME=CALIB.npy OUTDIR [CONFIG]
# (amct-opt and amct on PATH, e.g. PATH=build/bin:$PATH; CONFIG: an AMCT
# JSON or .cfg config, default: every layer with AMCT's defaults)
set -euo pipefail
model="$1" data="$2" out="$3" config="${4:-}"
mkdir -p "$out"

# 1. Fold constants and fuse (amct-prepare), then an observer on each layer
#    the config quantizes (the config's batch_num is recorded for step 2).
amct-opt "$model" --amct-prepare --amct-insert-calibration="config=$config" -o "$out/calib.mlir"

# 2. Calibrate: the executor runs the data through the observers; the
#    record gets scale_d/offset_d (IFMR) and scale_w/offset_w (ARQ).
amct calibrate --model "$out/calib.mlir" --calib-data "$data" --record "$out/record.txt"

# 3. Fold the record: the fake-quant model (kept as .mlir for the next
#    step, exported as ONNX for ONNX Runtime).
amct-opt "$out/calib.mlir" --amct-fold-observers="record=$out/record.txt" -o "$out/fake_quant.mlir"
amct-opt "$out/fake_quant.mlir" -o "$out/fake_quant.onnx"

# 4. Convert: the Ascend deploy model.
amct-opt "$out/fake_quant.mlir" --amct-convert -o "$out/deploy.onnx"

# 5. Look at any stage without reading IR.
amct inspect --model "$out/fake_quant.mlir"
