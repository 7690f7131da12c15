// RUN: %expect_exit 1 amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fold-observers{record=%S/Inputs/fold-record-invalid.txt}))' 2>&1 | FileCheck %s
// RUN: %expect_exit 1 amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fold-observers{record=%S/Inputs/no-such-record.txt}))' 2>&1 | FileCheck %s --check-prefix=UNREADABLE
// RUN: %expect_exit 1 amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fold-observers{record=%S/Inputs/fold-record-malformed.txt}))' 2>&1 | FileCheck %s --check-prefix=MALFORMED
// RUN: %expect_exit 1 amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fold-observers))' 2>&1 | FileCheck %s --check-prefix=NO-RECORD

// Record errors (Inputs/fold-record-invalid.txt) name the file and the layer.
// The file-level errors are reported on the function (once per split).
// UNREADABLE: error: {{.*}}/Inputs/no-such-record.txt: cannot open: No such file or directory
// MALFORMED: error: {{.*}}/Inputs/fold-record-malformed.txt:5:5: scale_h (GRU/LSTM records) is not supported
// NO-RECORD: error: --amct-fold-observers needs record=<record file>

// The record has no entry for the layer: the error is on its observer.
// CHECK: within split at {{.*}}amct-fold-observers-invalid.mlir:1 offset :[[@LINE+4]]:8: error: {{.*}}/Inputs/fold-record-invalid.txt has no scale_d/offset_d for layer 'conv9'
func.func @layer_missing(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv9", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv9")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// The entry has weight parameters but no scale_d / offset_d.
// CHECK: error: {{.*}}/Inputs/fold-record-invalid.txt has no scale_d/offset_d for layer 'conv_no_d'
func.func @no_scale_d(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_no_d", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_no_d")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// Three scale_w values for a weight with two output channels: the error is
// on the layer.
// CHECK: error: loc("conv_bad_count"): {{.*}}/Inputs/fold-record-invalid.txt: layer 'conv_bad_count' has 3 scale_w values, expected 1 or 2
func.func @scale_w_count(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_bad_count", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_bad_count")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// Two scale_w but one offset_w.
// CHECK: error: loc("conv_unpaired"): {{.*}}/Inputs/fold-record-invalid.txt: layer 'conv_unpaired' needs as many scale_w as offset_w values (at least one)
func.func @scale_w_offset_w(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_unpaired", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_unpaired")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// A weighted layer whose entry has no weight parameters at all.
// CHECK: error: loc("conv_no_w"): {{.*}}/Inputs/fold-record-invalid.txt: layer 'conv_no_w' needs as many scale_w as offset_w values (at least one)
func.func @no_scale_w(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_no_w", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_no_w")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// bias[1] / (scale_d * scale_w[1]) = -3e6 / (0.05 * 0.02) = -3e9 < INT32_MIN:
// the bias has no int32 form; the error is on the layer.
// CHECK: error: loc("conv_big_bias"): layer 'conv_big_bias': bias[1] = -3e+06 overflows int32 at scale 0.001
func.func @bias_overflow(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %b = amct.const dense<[0.5, -3.0e6]> : tensor<2xf32>
  %o = amct.observer %x {layer = "conv_big_bias", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x1x4x4xf32>
  %c = amct.Conv %o, %w, %b : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv_big_bias")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// A weighted layer's observer must say how its weights are quantized.
// CHECK: error: layer 'conv_no_arq' has a weight but its observer no weight parameters (weights = #amct.arq<num_bits = .., channel_wise = ..>)
func.func @no_weight_params(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_no_arq", method = #amct.hfmg<num_bits = 8, asymmetric = true, num_of_bins = 4096>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_no_arq")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// A DMQ observer collects channel maxima; it has no activation parameters
// to fold.
// CHECK: error: layer 'conv_no_arq': the observer does not calibrate activations (expected #amct.ifmr or #amct.hfmg)
func.func @dmq_observer(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_no_arq", method = #amct.dmq} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_no_arq")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// Observer parameters are typed: a malformed one is a parse error.
// CHECK: error: expected true or false
func.func @bad_param(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %o = amct.observer %x {layer = "p", method = #amct.hfmg<num_bits = 8, asymmetric = 1, num_of_bins = 4096>} : tensor<1x2x4x4xf32>
  return %o : tensor<1x2x4x4xf32>
}
