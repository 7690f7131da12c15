// Config errors: each message starts with the config file's name and names
// the key, the value or the layer; the pass fails (exit status 1).
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/no-such-config.json}))' 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/config-unknown-key.json}))' 2>&1 | FileCheck %s --check-prefix=UNKNOWN-KEY
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/config-num-bits-3.json}))' 2>&1 | FileCheck %s --check-prefix=NUM-BITS
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/config-unknown-layer.json}))' 2>&1 | FileCheck %s --check-prefix=UNKNOWN-LAYER
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/config-skip-unknown-layer.cfg}))' 2>&1 | FileCheck %s --check-prefix=CFG-SKIP
// ADA rounding learns on the calibration data after folding, which only the
// whole job does: the pass alone refuses it on the layer, never folding
// the observers to ARQ's rounding instead.
// RUN: %expect_exit 1 amct-opt %s --pass-pipeline='builtin.module(func.func(amct-insert-calibration{config=%S/Inputs/config-ada.json}))' 2>&1 | FileCheck %s --check-prefix=ADA
// ADA: error: loc("conv1"): layer 'conv1': wts_algo 'ada_quantize' learns the weights' rounding on the calibration data after the observers are folded, which only the whole job does: use amct quantize or --amct-quantize

// The error is reported on the function.
// MISSING: amct-insert-calibration-invalid.mlir:[[@LINE+5]]:1: error: --amct-insert-calibration: quant config {{.*}}/Inputs/no-such-config.json: cannot open: No such file or directory
// UNKNOWN-KEY: error: {{.*}}/Inputs/config-unknown-key.json: conv1.activation_quant_params: unknown key 'act_algorithm' (allowed: num_bits, max_percentile, min_percentile, search_range, search_step, act_algo, num_of_bins, asymmetric)
// NUM-BITS: error: {{.*}}/Inputs/config-num-bits-3.json: conv1.activation_quant_params.num_bits: must be 8 (amct-mlir quantizes activations to 8 bits only), got 3
// UNKNOWN-LAYER: error: {{.*}}/Inputs/config-unknown-layer.json: conv9: not a quantizable layer of the model (quantizable layers: conv1)
// CFG-SKIP: error: {{.*}}/Inputs/config-skip-unknown-layer.cfg:1:1: skip_layers: 'conv7' is not a quantizable layer of the model (quantizable layers: conv1)
func.func @layer(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c = amct.Conv %x, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv1")
  return %c : tensor<1x2x4x4xf32>
}
