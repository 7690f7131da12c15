// RUN: amct-opt %s -split-input-file -verify-diagnostics
// Each typed op's verifier: the expected and the found value in the message.

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x5x3x3xf32>) {
  %n = amct.none
  // expected-error @+1 {{input has 3 channels, expected weight dim 1 (5) * group (1) = 5}}
  %y = amct.Conv %x, %w, %n : (tensor<1x3x8x8xf32>, tensor<4x5x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_group_divides(%x: tensor<1x6x8x8xf32>, %w: tensor<5x3x3x3xf32>) {
  %n = amct.none
  // expected-error @+1 {{weight has 5 output channels, not divisible by group 2}}
  %y = amct.Conv %x, %w, %n {group = 2 : i64} : (tensor<1x6x8x8xf32>, tensor<5x3x3x3xf32>, none) -> tensor<*xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{bias has 5 elements, expected one per output channel (4)}}
  %y = amct.Conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @conv_pads_length(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  %n = amct.none
  // expected-error @+1 {{attribute 'pads' has 2 values, expected 4}}
  %y = amct.Conv %x, %w, %n {pads = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<*xf32>
  return
}

// -----

func.func @conv_result_lies(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  %n = amct.none
  // expected-error @+1 {{result #0 has type 'tensor<1x4x8x8xf32>' but its operands and attributes give 'tensor<1x4x6x6xf32>'}}
  %y = amct.Conv %x, %w, %n : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_auto_pad(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  %n = amct.none
  // expected-error @+1 {{attribute 'auto_pad' is 'SAME', expected NOTSET, VALID, SAME_UPPER or SAME_LOWER}}
  %y = amct.Conv %x, %w, %n {auto_pad = "SAME"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<*xf32>
  return
}

// -----

func.func @conv_transpose_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  %n = amct.none
  // expected-error @+1 {{input has 3 channels, expected weight dim 0 (4)}}
  %y = amct.ConvTranspose %x, %w, %n : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>, none) -> tensor<*xf32>
  return
}

// -----

func.func @gemm_k(%a: tensor<4x3xf32>, %b: tensor<5x6xf32>) {
  %n = amct.none
  // expected-error @+1 {{inner dimensions of A and B differ: 3 vs 5}}
  %y = amct.Gemm %a, %b, %n : (tensor<4x3xf32>, tensor<5x6xf32>, none) -> tensor<*xf32>
  return
}

// -----

func.func @gemm_rank(%a: tensor<2x4x3xf32>, %b: tensor<3x6xf32>) {
  %n = amct.none
  // expected-error @+1 {{operand A must have rank 2, found rank 3}}
  %y = amct.Gemm %a, %b, %n : (tensor<2x4x3xf32>, tensor<3x6xf32>, none) -> tensor<*xf32>
  return
}

// -----

func.func @matmul_k(%a: tensor<4x3xf32>, %b: tensor<5x6xf32>) {
  // expected-error @+1 {{inner dimensions of A and B differ: 3 vs 5}}
  %y = amct.MatMul %a, %b : (tensor<4x3xf32>, tensor<5x6xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @add_broadcast(%a: tensor<4x3xf32>, %b: tensor<5xf32>) {
  // expected-error @+1 {{operand shapes [4, 3] and [5] are not broadcast-compatible}}
  %y = amct.Add %a, %b : (tensor<4x3xf32>, tensor<5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @add_types(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error @+1 {{operand element types differ: 'f32' vs 'f16'}}
  %y = amct.Add %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<*xf32>
  return
}

// -----

func.func @bn_channels(%x: tensor<1x8x4x4xf32>, %s: tensor<6xf32>) {
  // expected-error @+1 {{'scale' size differs from the channel count: 6 vs 8}}
  %y = amct.BatchNormalization %x, %s, %s, %s, %s : (tensor<1x8x4x4xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @pool_rank(%x: tensor<1x8x4xf32>) {
  // expected-error @+1 {{input rank 3 does not match 2 kernel dims (expected rank 4)}}
  %y = amct.AveragePool %x {kernel_shape = array<i64: 2, 2>} : (tensor<1x8x4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @pool_pads(%x: tensor<1x8x4x4xf32>) {
  // expected-error @+1 {{pads on spatial axis 0 must be smaller than the kernel size 2}}
  %y = amct.MaxPool %x {kernel_shape = array<i64: 2, 2>, pads = array<i64: 2, 0, 0, 0>} : (tensor<1x8x4x4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+1 {{input dims differ on non-concat axis 1: 3 vs 5}}
  %y = amct.Concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range [-2, 1] for rank 2}}
  %y = amct.Concat %a, %a {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @transpose_perm(%a: tensor<2x3x4xf32>) {
  // expected-error @+1 {{'perm' [0, 0, 1] is not a permutation of 0..2}}
  %y = amct.Transpose %a {perm = array<i64: 0, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_count(%a: tensor<2x3x4xf32>) {
  %s = amct.const dense<[5, 5]> : tensor<2xi64>
  // expected-error @+1 {{cannot reshape [2, 3, 4] (24 elements) into [5, 5]}}
  %y = amct.Reshape %a, %s : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @squeeze_non_one(%a: tensor<2x3xf32>) {
  %s = amct.const dense<[1]> : tensor<1xi64>
  // expected-error @+1 {{cannot squeeze axis 1 of size 3}}
  %y = amct.Squeeze %a, %s : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_indices(%a: tensor<2x3xf32>, %i: tensor<2xf32>) {
  // expected-error @+1 {{indices must be int32 or int64, found 'f32'}}
  %y = amct.Gather %a, %i : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{axis -3 is out of range [-2, 1] for rank 2}}
  %y = amct.Softmax %a {axis = -3 : i64} : (tensor<2x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @cast_to(%a: tensor<2xf32>) {
  // expected-error @+1 {{attribute 'to' is 99, not a known ONNX data type}}
  %y = amct.Cast %a {to = 99 : i64} : (tensor<2xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @constant_two_values() {
  // expected-error @+1 {{needs exactly one value attribute, found 2}}
  %y = amct.Constant {value_int = 1 : i64, value_float = 1.0 : f32} : tensor<i64>
  return
}

// -----

func.func @pad_mode(%a: tensor<2xf32>, %p: tensor<2xi64>) {
  %n = amct.none
  // expected-error @+1 {{attribute 'mode' is 'mirror', expected constant, reflect, edge or wrap}}
  %y = amct.Pad %a, %p, %n, %n {mode = "mirror"} : (tensor<2xf32>, tensor<2xi64>, none, none) -> tensor<*xf32>
  return
}

// -----

func.func @clip_bounds(%a: tensor<4xf32>, %m: tensor<2xf32>) {
  %n = amct.none
  // expected-error @+1 {{min/max must be a scalar, found shape [2]}}
  %y = amct.Clip %a, %m, %n : (tensor<4xf32>, tensor<2xf32>, none) -> tensor<*xf32>
  return
}

// -----

func.func @node_regions(%c: tensor<i1>) {
  // expected-error @+1 {{has 1 subgraph regions but 0 subgraph attribute names}}
  amct.node "If"(%c) {} graphs {
    amct.yield
  } : (tensor<i1>) -> ()
  return
}

// -----

func.func @quantize_linear_scale_count(%x: tensor<2x3xf32>, %s: tensor<2xf32>) {
  %none = amct.none
  // expected-error @+1 {{has 2 scales for axis 1 of size 3}}
  %q = amct.QuantizeLinear %x, %s, %none : (tensor<2x3xf32>, tensor<2xf32>, none) -> tensor<2x3xui8>
  return
}

// -----

func.func @quantize_linear_zero_point_type(%x: tensor<2xf32>, %s: tensor<f32>, %zp: tensor<i32>) {
  // expected-error @+1 {{the zero point must be int8, uint8 or float8, found 'i32'}}
  %q = amct.QuantizeLinear %x, %s, %zp : (tensor<2xf32>, tensor<f32>, tensor<i32>) -> tensor<2xi32>
  return
}

// -----

func.func @quantize_linear_matrix_scale(%x: tensor<2x3xf32>, %s: tensor<2x3xf32>) {
  %none = amct.none
  // expected-error @+1 {{the scale must be a scalar or 1-D, found shape [2, 3]}}
  %q = amct.QuantizeLinear %x, %s, %none : (tensor<2x3xf32>, tensor<2x3xf32>, none) -> tensor<2x3xui8>
  return
}

// -----

func.func @dequantize_linear_float_input(%x: tensor<2xf32>, %s: tensor<f32>) {
  %none = amct.none
  // expected-error @+1 {{the input must be int8, uint8, int32 or float8, found 'f32'}}
  %d = amct.DequantizeLinear %x, %s, %none : (tensor<2xf32>, tensor<f32>, none) -> tensor<2xf32>
  return
}

// -----

func.func @dequantize_linear_zero_point_type(%x: tensor<2xi8>, %s: tensor<f32>, %zp: tensor<ui8>) {
  // expected-error @+1 {{the zero point's type 'ui8' differs from the input's 'i8'}}
  %d = amct.DequantizeLinear %x, %s, %zp : (tensor<2xi8>, tensor<f32>, tensor<ui8>) -> tensor<2xf32>
  return
}

// -----

func.func @dequantize_weight_bits(%q: tensor<4x2xi8>, %s: tensor<1x2xf32>, %n: none) -> tensor<4x2xf32> {
  // expected-error @+1 {{num_bits is 3, expected 4 or 8}}
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 3 : i64} : (tensor<4x2xi8>, tensor<1x2xf32>, none) -> tensor<4x2xf32>
  return %w : tensor<4x2xf32>
}

// -----

func.func @dequantize_weight_groups(%q: tensor<5x2xi8>, %s: tensor<2x2xf32>, %n: none) -> tensor<5x2xf32> {
  // expected-error @+1 {{scale has 2 rows, expected 3 (K 5 in groups of 2)}}
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 4 : i64, group_size = 2 : i64} : (tensor<5x2xi8>, tensor<2x2xf32>, none) -> tensor<5x2xf32>
  return %w : tensor<5x2xf32>
}

// -----

func.func @dequantize_weight_columns(%q: tensor<4x3xi8>, %s: tensor<1x2xf32>, %n: none) -> tensor<4x3xf32> {
  // expected-error @+1 {{scale has 2 columns, expected 1 or N = 3}}
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 8 : i64} : (tensor<4x3xi8>, tensor<1x2xf32>, none) -> tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}

// -----

func.func @dequantize_weight_offset(%q: tensor<4x2xi8>, %s: tensor<1x2xf32>, %o: tensor<1x1xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{offset must have the shape of scale}}
  %w = amct.dequantize_weight %q, %s, %o {num_bits = 8 : i64} : (tensor<4x2xi8>, tensor<1x2xf32>, tensor<1x1xf32>) -> tensor<4x2xf32>
  return %w : tensor<4x2xf32>
}

// -----

func.func @dequantize_weight_group_columns(%q: tensor<4x2xi8>, %s: tensor<2x1xf32>, %n: none) -> tensor<4x2xf32> {
  // expected-error @+1 {{group scales must have one column per output channel (2)}}
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 4 : i64, group_size = 2 : i64} : (tensor<4x2xi8>, tensor<2x1xf32>, none) -> tensor<4x2xf32>
  return %w : tensor<4x2xf32>
}
