// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-convert))' | FileCheck %s

// A weight-only layer (MatMul / Gemm reading amct.dequantize_weight, as the
// language-model flow writes it) becomes Ascend's WeightQuantBatchMatmulV2:
// int4 packed two per byte along K, low nibble first; the scale as the NPU
// takes it ([G, N] with groups, [N] or [1] without); antiquant_offset =
// -offset; the MatMul's bias Add folded in.

// q (K = 4, N = 2) = [[1, -2], [3, -8], [7, 0], [-1, 5]]:
//   byte (0, 0) = 1 | 3 << 4 = 0x31 = 49;   (0, 1) = 0xE | 0x80 = 0x8E = -114;
//   byte (1, 0) = 7 | 0xF0 = 0xF7 = -9;     (1, 1) = 0 | 5 << 4 = 0x50 = 80.
// CHECK-LABEL: func.func @int4_group
// CHECK-SAME: (%[[X:[^:]*]]: tensor<3x4xf32>)
// CHECK-NOT: amct.dequantize_weight
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[}}49, -114], [-9, 80]]> : tensor<2x2xi8>
// CHECK-DAG: %[[S:.*]] = amct.const dense<{{\[\[}}5.000000e-01, 2.500000e-01], [1.250000e-01, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[O:.*]] = amct.const dense<{{\[\[}}-1.000000e+00, -0.000000e+00], [-2.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[B:.*]] = amct.const dense<[1.000000e+00, -1.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = ascend.WeightQuantBatchMatmulV2 %[[X]], %[[W]], %[[S]], %[[O]], %[[B]] {antiquant_group_size = 2 : i64, weight_dtype = "INT4"} : (tensor<3x4xf32>, tensor<2x2xi8>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: return %[[Y]]
func.func @int4_group(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %q = amct.const dense<[[1, -2], [3, -8], [7, 0], [-1, 5]]> : tensor<4x2xi8>
  %s = amct.const dense<[[0.5, 0.25], [0.125, 1.0]]> : tensor<2x2xf32>
  %o = amct.const dense<[[1.0, 0.0], [2.0, -1.0]]> : tensor<2x2xf32>
  %b = amct.const dense<[1.0, -1.0]> : tensor<2xf32>
  %w = amct.dequantize_weight %q, %s, %o {num_bits = 4 : i64, group_size = 2 : i64} : (tensor<4x2xi8>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %y = amct.MatMul %x, %w : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32> loc("fc")
  %z = amct.Add %y, %b : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}

// -----

// int8 per channel, symmetric: the weight as is, scales [N], no offset; a
// MatMul without bias; a MatMul whose Add adds a non-constant stays apart.
// CHECK-LABEL: func.func @int8_channel
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[}}1, -2], [3, 4]]> : tensor<2x2xi8>
// CHECK-DAG: %[[S:.*]] = amct.const dense<[5.000000e-01, 2.500000e-01]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = ascend.WeightQuantBatchMatmulV2 %{{.*}}, %[[W]], %[[S]], %{{.*}}, %{{.*}} : (tensor<2x3x2xf32>, tensor<2x2xi8>, tensor<2xf32>, none, none) -> tensor<2x3x2xf32>
// CHECK-NEXT: %[[Z:.*]] = amct.Add %[[Y]], %{{.*}} :
func.func @int8_channel(%x: tensor<2x3x2xf32>, %r: tensor<2x3x2xf32>) -> tensor<2x3x2xf32> {
  %q = amct.const dense<[[1, -2], [3, 4]]> : tensor<2x2xi8>
  %s = amct.const dense<[[0.5, 0.25]]> : tensor<1x2xf32>
  %n = amct.none
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 8 : i64} : (tensor<2x2xi8>, tensor<1x2xf32>, none) -> tensor<2x2xf32>
  %y = amct.MatMul %x, %w : (tensor<2x3x2xf32>, tensor<2x2xf32>) -> tensor<2x3x2xf32>
  %z = amct.Add %y, %r : (tensor<2x3x2xf32>, tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  return %z : tensor<2x3x2xf32>
}

// -----

// A Gemm: its C is the bias; per tensor, the scale is [1].
// CHECK-LABEL: func.func @gemm_tensor
// CHECK-DAG: %[[S:.*]] = amct.const dense<2.500000e-01> : tensor<1xf32>
// CHECK-DAG: %[[B:.*]] = amct.const dense<[5.000000e-01, 1.500000e+00]> : tensor<2xf32>
// CHECK: ascend.WeightQuantBatchMatmulV2 %{{.*}}, %{{.*}}, %[[S]], %{{.*}}, %[[B]] : (tensor<4x2xf32>, tensor<2x2xi8>, tensor<1xf32>, none, tensor<2xf32>) -> tensor<4x2xf32>
// CHECK-NOT: amct.Gemm
func.func @gemm_tensor(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %q = amct.const dense<[[1, -2], [3, 4]]> : tensor<2x2xi8>
  %s = amct.const dense<0.25> : tensor<1x1xf32>
  %c = amct.const dense<[[0.5, 1.5]]> : tensor<1x2xf32>
  %n = amct.none
  %w = amct.dequantize_weight %q, %s, %n {num_bits = 8 : i64} : (tensor<2x2xi8>, tensor<1x1xf32>, none) -> tensor<2x2xf32>
  %y = amct.Gemm %x, %w, %c : (tensor<4x2xf32>, tensor<2x2xf32>, tensor<1x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
