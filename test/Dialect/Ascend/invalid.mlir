// RUN: amct-opt %s -split-input-file -verify-diagnostics

func.func @quant_scale(%x: tensor<4xf32>) {
  // expected-error @+1 {{scale must be finite and non-zero, found 0}}
  %q = ascend.AscendQuant %x {scale = 0.0 : f32, dst_type = "INT8", offset = 0.0 : f32} : (tensor<4xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @quant_offset(%x: tensor<4xf32>) {
  // expected-error @+1 {{offset must be an integer in [-128, 127], found 200}}
  %q = ascend.AscendQuant %x {scale = 1.0 : f32, dst_type = "INT8", offset = 200.0 : f32} : (tensor<4xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @quant_int4_offset(%x: tensor<4xf32>) {
  // expected-error @+1 {{offset must be an integer in [-8, 7], found 9}}
  %q = ascend.AscendQuant %x {scale = 1.0 : f32, offset = 9.0 : f32, dst_type = "INT4"} : (tensor<4xf32>) -> tensor<4xi4>
  return
}

// -----

func.func @quant_round_mode(%x: tensor<4xf32>) {
  // expected-error @+1 {{round_mode is 'Nearest', expected Round, Floor, Ceil or Trunc}}
  %q = ascend.AscendQuant %x {scale = 1.0 : f32, dst_type = "INT8", offset = 0.0 : f32, round_mode = "Nearest"} : (tensor<4xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @quant_dst_mismatch(%x: tensor<4xf32>) {
  // expected-error @+1 {{result element type 'i8' does not match dst_type (i4)}}
  %q = ascend.AscendQuant %x {scale = 1.0 : f32, offset = 0.0 : f32, dst_type = "INT4"} : (tensor<4xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @dequant_channels(%x: tensor<1x16x4x4xi32>, %s: tensor<8xui64>) {
  // expected-error @+1 {{deq_scale has 8 elements, expected 1 or one per channel (16)}}
  %d = ascend.AscendDequant %x, %s {dtype = 0 : i64} : (tensor<1x16x4x4xi32>, tensor<8xui64>) -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @dequant_dtype(%x: tensor<4xi32>, %s: tensor<1xui64>) {
  // expected-error @+1 {{dtype 1 does not match result element type 'f32'}}
  %d = ascend.AscendDequant %x, %s {dtype = 1 : i64} : (tensor<4xi32>, tensor<1xui64>) -> tensor<4xf32>
  return
}

// -----

func.func @dequant_input_type(%x: tensor<4xi8>, %s: tensor<1xui64>) {
  // expected-error @+1 {{operand #0 must be tensor of 32-bit signless integer values}}
  %d = ascend.AscendDequant %x, %s {dtype = 0 : i64} : (tensor<4xi8>, tensor<1xui64>) -> tensor<4xf32>
  return
}

// -----

func.func @antiquant_shape(%x: tensor<4xi8>) {
  // expected-error @+1 {{result shape of 'tensor<5xf32>' differs from the input shape of 'tensor<4xi8>'}}
  %d = ascend.AscendAntiQuant %x {scale = 1.0 : f32, dst_type = "INT8", offset = 0.0 : f32} : (tensor<4xi8>) -> tensor<5xf32>
  return
}

// -----

// dst_type is required (AMCT always writes it; its reader takes the width from it).
func.func @quant_no_dst_type(%x: tensor<4xf32>) -> tensor<4xi8> {
  // expected-error @+1 {{requires attribute 'dst_type'}}
  %q = ascend.AscendQuant %x {scale = 1.0 : f32, offset = 0.0 : f32} : (tensor<4xf32>) -> tensor<4xi8>
  return %q : tensor<4xi8>
}

// -----

// dtype is required on AscendDequant.
func.func @dequant_no_dtype(%x: tensor<4xi32>, %s: tensor<1xui64>) -> tensor<4xf32> {
  // expected-error @+1 {{requires attribute 'dtype'}}
  %d = ascend.AscendDequant %x, %s : (tensor<4xi32>, tensor<1xui64>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

// A deq_scale of the wrong element type.
func.func @dequant_param_type(%x: tensor<4xi32>, %s: tensor<1xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{operand #1 must be tensor of 64-bit unsigned integer values}}
  %d = ascend.AscendDequant %x, %s {dtype = 0 : i64} : (tensor<4xi32>, tensor<1xf32>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

func.func @wqbmm_dtype(%x: tensor<3x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{weight_dtype is "INT2", expected "INT8" or "INT4"}}
  %y = ascend.WeightQuantBatchMatmulV2 %x, %w, %s, %n, %n {weight_dtype = "INT2"} : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<2xf32>, none, none) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @wqbmm_k(%x: tensor<3x4xf32>, %w: tensor<4x2xi8>, %s: tensor<2xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{x has 4 input channels, the weight 8}}
  %y = ascend.WeightQuantBatchMatmulV2 %x, %w, %s, %n, %n {weight_dtype = "INT4"} : (tensor<3x4xf32>, tensor<4x2xi8>, tensor<2xf32>, none, none) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @wqbmm_groups(%x: tensor<3x8xf32>, %w: tensor<8x2xi8>, %s: tensor<3x2xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{antiquant_scale has 3 groups, expected 2 for K 8 and group size 4}}
  %y = ascend.WeightQuantBatchMatmulV2 %x, %w, %s, %n, %n {antiquant_group_size = 4 : i64} : (tensor<3x8xf32>, tensor<8x2xi8>, tensor<3x2xf32>, none, none) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @wqbmm_channel_scale(%x: tensor<3x8xf32>, %w: tensor<8x2xi8>, %s: tensor<3xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{antiquant_scale has 3 channels, expected 2 or 1}}
  %y = ascend.WeightQuantBatchMatmulV2 %x, %w, %s, %n, %n : (tensor<3x8xf32>, tensor<8x2xi8>, tensor<3xf32>, none, none) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @wqbmm_bias(%x: tensor<3x8xf32>, %w: tensor<8x2xi8>, %s: tensor<2xf32>, %b: tensor<3xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{bias must be [N]}}
  %y = ascend.WeightQuantBatchMatmulV2 %x, %w, %s, %n, %b : (tensor<3x8xf32>, tensor<8x2xi8>, tensor<2xf32>, none, tensor<3xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @dynamic_quant_scale_rank(%x: tensor<2x3x8xf32>) -> tensor<2x3x8xi8> {
  // expected-error @+1 {{scale must have x's shape without the last axis (rank 2), found rank 1}}
  %y, %s = ascend.DynamicQuant %x : (tensor<2x3x8xf32>) -> (tensor<2x3x8xi8>, tensor<6xf32>)
  return %y : tensor<2x3x8xi8>
}

// -----

func.func @dynamic_quant_v2_offset(%x: tensor<3x8xf32>) -> tensor<3x8xi8> {
  // expected-error @+1 {{offset dim 0 is 4, x's is 3}}
  %y, %s, %o = ascend.DynamicQuantV2 %x : (tensor<3x8xf32>) -> (tensor<3x8xi8>, tensor<3xf32>, tensor<4xf32>)
  return %y : tensor<3x8xi8>
}

// -----

func.func @qbmm_k(%x: tensor<3x8xi8>, %w: tensor<4x2xi8>, %s: tensor<2xf32>, %t: tensor<3xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{x1 has 8 input channels, x2 4}}
  %y = ascend.QuantBatchMatmulV3 %x, %w, %s, %t, %n, %n : (tensor<3x8xi8>, tensor<4x2xi8>, tensor<2xf32>, tensor<3xf32>, none, none) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @qbmm_token_scale(%x: tensor<3x8xi8>, %w: tensor<8x2xi8>, %s: tensor<2xf32>, %t: tensor<2xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{pertoken_scale dim 0 is 2, x's is 3}}
  %y = ascend.QuantBatchMatmulV3 %x, %w, %s, %t, %n, %n : (tensor<3x8xi8>, tensor<8x2xi8>, tensor<2xf32>, tensor<2xf32>, none, none) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @qbmm_scale(%x: tensor<3x8xi8>, %w: tensor<8x2xi8>, %s: tensor<3xf32>, %t: tensor<3xf32>, %n: none) -> tensor<3x2xf32> {
  // expected-error @+1 {{scale has 3 values, expected 1 or 2}}
  %y = ascend.QuantBatchMatmulV3 %x, %w, %s, %t, %n, %n : (tensor<3x8xi8>, tensor<8x2xi8>, tensor<3xf32>, tensor<3xf32>, none, none) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
