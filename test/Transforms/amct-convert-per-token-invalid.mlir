// RUN: %expect_exit 1 amct-opt %s -split-input-file -verify-diagnostics --pass-pipeline='builtin.module(func.func(amct-convert))'

// Per-token layers and KV-cache fake-quants whose form has no deploy op
// are errors naming the layer.

// Declined: a per-token input with a float weight has no deploy form.
func.func @float_weight(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = amct.const dense<1.0> : tensor<2x3xf32>
  %q = amct.fake_quant_per_token %x : tensor<4x2xf32>
  // expected-error @+1 {{layer 'fc': the input is quantized per token but the weight is not an 8-bit fake-quantized 2-D constant}}
  %y = amct.MatMul %q, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32> loc("fc")
  return %y : tensor<4x3xf32>
}

// -----

func.func @weight_offset(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = amct.const dense<1.0> : tensor<2x3xf32>
  %q = amct.fake_quant_per_token %x : tensor<4x2xf32>
  %wq = amct.fake_quant %w {scale = array<f32: 0.5>, offset = array<i64: 3>} : tensor<2x3xf32>
  // expected-error @+1 {{layer 'fc': weights with a non-zero offset have no QuantBatchMatmulV3 form}}
  %y = amct.MatMul %q, %wq : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32> loc("fc")
  return %y : tensor<4x3xf32>
}

// -----

func.func @gemm_alpha(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = amct.const dense<1.0> : tensor<2x3xf32>
  %q = amct.fake_quant_per_token %x : tensor<4x2xf32>
  %wq = amct.fake_quant %w {scale = array<f32: 0.5>, offset = array<i64: 0>} : tensor<2x3xf32>
  %n = amct.none
  // expected-error @+1 {{layer 'g': a per-token Gemm deploys only with transA = 0 and alpha = beta = 1}}
  %y = amct.Gemm %q, %wq, %n {alpha = 2.0 : f32} : (tensor<4x2xf32>, tensor<2x3xf32>, none) -> tensor<4x3xf32> loc("g")
  return %y : tensor<4x3xf32>
}

// -----

// A per-channel fake-quant of a value (a KV cache) deploys along its last
// axis only.
func.func @kv_wrong_axis(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'kv': a per-channel fake-quant of a value deploys along its last axis only (AscendAntiQuantV2), found axis 0}}
  %y = amct.fake_quant %x {scale = array<f32: 0.5, 0.25, 1.0>, offset = array<i64: 0, 0, 0>, axis = 0 : i64} : tensor<3x2xf32> loc("kv")
  return %y : tensor<3x2xf32>
}
