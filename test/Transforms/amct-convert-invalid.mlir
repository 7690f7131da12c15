// RUN: %expect_exit 1 amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-convert))' 2>&1 | FileCheck %s

// Errors name the layer; they are reported on it.

// bias[1] / (scale_d * scale_w[1]) = -3e6 / (0.05 * 0.02) = -3e9 < INT32_MIN.
// CHECK: error: loc("conv_big"): layer 'conv_big': bias[1] = -3e+06 overflows int32 at scale 0.001
func.func @bias_overflow(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %b = amct.const dense<[0.5, -3.0e6]> : tensor<2xf32>
  %xq = amct.fake_quant %x {offset = array<i64: 0>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %wq = amct.fake_quant %w {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %c = amct.Conv %xq, %wq, %b : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv_big")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// The activation is fake-quantized, the weight is not.
// CHECK: error: loc("conv_wf"): layer 'conv_wf': the activation is fake-quantized but the weight is not a fake-quantized constant
func.func @weight_not_fake_quantized(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %xq = amct.fake_quant %x {offset = array<i64: 0>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %c = amct.Conv %xq, %w, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_wf")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// The bias is a graph input: it cannot be made int32.
// CHECK: error: loc("conv_bias_arg"): layer 'conv_bias_arg': the activation is fake-quantized but the layer has no int8 form: the bias is not a float32 constant (it cannot become int32)
func.func @bias_not_constant(%x: tensor<1x1x4x4xf32>, %b: tensor<2xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %xq = amct.fake_quant %x {offset = array<i64: 0>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %wq = amct.fake_quant %w {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %c = amct.Conv %xq, %wq, %b : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv_bias_arg")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// The bias is fake-quantized with a scale other than the accumulator's
// (0.05 * [0.01, 0.02]): the int32 values would not be what the fake-quant
// model adds.
// CHECK: error: loc("conv_bias_scale"): layer 'conv_bias_scale': the bias must be fake-quantized to 32 bits with offset 0 and the accumulator scales scale_d * scale_w (5.000000e-04, 1.000000e-03), found 32 bits and scales (1.000000e-03, 1.000000e-03)
func.func @bias_scale_mismatch(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %b = amct.const dense<[0.5, -0.25]> : tensor<2xf32>
  %xq = amct.fake_quant %x {offset = array<i64: 0>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %wq = amct.fake_quant %w {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %bq = amct.fake_quant %b {axis = 0 : i64, num_bits = 32 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.001, 0.001>} : tensor<2xf32>
  %c = amct.Conv %xq, %wq, %bq : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv_bias_scale")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// 16-bit weights (the fake-quant model may carry them) do not fit the
// deploy model's int8 weights.
// CHECK: error: loc("conv_w16"): layer 'conv_w16': the activation is fake-quantized but 16-bit weights have no int8 deploy form
func.func @weight_16_bits(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %xq = amct.fake_quant %x {offset = array<i64: 0>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %wq = amct.fake_quant %w {axis = 0 : i64, num_bits = 16 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %c = amct.Conv %xq, %wq, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_w16")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// A weight-only Gemm with alpha has no WeightQuantBatchMatmulV2 form.
// CHECK: error: loc("scaled"): layer 'scaled': a weight-only Gemm deploys only with transA = transB = 0 and alpha = beta = 1
func.func @weight_only_alpha(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %q = amct.const dense<[[1, -2], [3, 4]]> : tensor<2x2xi8>
  %s = amct.const dense<0.25> : tensor<1x1xf32>
  %n = amct.none
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 8 : i64} : (tensor<2x2xi8>, tensor<1x1xf32>, none) -> tensor<2x2xf32>
  %y = amct.Gemm %x, %w, %n {alpha = 2.0 : f32} : (tensor<4x2xf32>, tensor<2x2xf32>, none) -> tensor<4x2xf32> loc("scaled")
  return %y : tensor<4x2xf32>
}

// -----

// The integers must be constants.
// CHECK: error: loc("dyn"): layer 'dyn': the weight's integers, scales and offsets must be constants
func.func @weight_only_dynamic(%x: tensor<4x2xf32>, %q: tensor<2x2xi8>) -> tensor<4x2xf32> {
  %s = amct.const dense<0.25> : tensor<1x1xf32>
  %n = amct.none
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 8 : i64} : (tensor<2x2xi8>, tensor<1x1xf32>, none) -> tensor<2x2xf32>
  %y = amct.MatMul %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32> loc("dyn")
  return %y : tensor<4x2xf32>
}
