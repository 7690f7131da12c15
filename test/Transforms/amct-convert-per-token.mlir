// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-convert))' | FileCheck %s

// A layer whose input is amct.fake_quant_per_token and whose weight an
// 8-bit fake_quant of a constant (the language-model W8A8 flow with
// per-token inputs) becomes DynamicQuant + QuantBatchMatmulV3: the int8
// weight as [K, N] (a Gemm's transB weight transposed), the weight scales,
// the per-token scales, the bias folded in as float. Layers reading one
// input share one DynamicQuant.

// W = [[0.5, -1], [1.5, 2]] / s = [0.5, 1] -> [[1, -1], [3, 2]].
// CHECK-LABEL: func.func @shared_input
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x3x2xf32>)
// CHECK-NOT: amct.fake_quant
// CHECK: %[[Y:.*]], %[[S:.*]] = ascend.DynamicQuant %[[X]] : (tensor<2x3x2xf32>) -> (tensor<2x3x2xi8>, tensor<2x3xf32>)
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[}}1, -1], [3, 2]]> : tensor<2x2xi8>
// CHECK-DAG: %[[D:.*]] = amct.const dense<[5.000000e-01, 1.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = amct.const dense<[1.000000e+00, -1.000000e+00]> : tensor<2xf32>
// CHECK: %[[A:.*]] = ascend.QuantBatchMatmulV3 %[[Y]], %[[W]], %[[D]], %[[S]], %{{.*}}, %[[B]] : (tensor<2x3x2xi8>, tensor<2x2xi8>, tensor<2xf32>, tensor<2x3xf32>, none, tensor<2xf32>) -> tensor<2x3x2xf32>
// CHECK: %[[W2:.*]] = amct.const dense<{{\[\[}}4], [-4]]> : tensor<2x1xi8>
// CHECK: %[[C:.*]] = ascend.QuantBatchMatmulV3 %[[Y]], %[[W2]], %{{.*}}, %[[S]], %{{.*}}, %{{.*}} : (tensor<2x3x2xi8>, tensor<2x1xi8>, tensor<1xf32>, tensor<2x3xf32>, none, none) -> tensor<2x3x1xf32>
// CHECK-NOT: ascend.DynamicQuant
func.func @shared_input(%x: tensor<2x3x2xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x1xf32>) {
  %w = amct.const dense<[[0.5, -1.0], [1.5, 2.0]]> : tensor<2x2xf32>
  %b = amct.const dense<[1.0, -1.0]> : tensor<2xf32>
  %w2 = amct.const dense<[[1.0], [-1.0]]> : tensor<2x1xf32>
  %q = amct.fake_quant_per_token %x : tensor<2x3x2xf32>
  %wq = amct.fake_quant %w {scale = array<f32: 0.5, 1.0>, offset = array<i64: 0, 0>, axis = 1 : i64} : tensor<2x2xf32>
  %wq2 = amct.fake_quant %w2 {scale = array<f32: 0.25>, offset = array<i64: 0>} : tensor<2x1xf32>
  %y = amct.MatMul %q, %wq : (tensor<2x3x2xf32>, tensor<2x2xf32>) -> tensor<2x3x2xf32> loc("fc")
  %z = amct.Add %y, %b : (tensor<2x3x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
  %c = amct.MatMul %q, %wq2 : (tensor<2x3x2xf32>, tensor<2x1xf32>) -> tensor<2x3x1xf32> loc("fc2")
  return %z, %c : tensor<2x3x2xf32>, tensor<2x3x1xf32>
}

// -----

// Asymmetric: DynamicQuantV2's offsets reach the matmul. A Gemm with transB
// ([N, K] weight) deploys its weight as [K, N], with C folded as the bias.
// CHECK-LABEL: func.func @asymmetric_gemm
// CHECK: %[[Y:.*]], %[[S:.*]], %[[O:.*]] = ascend.DynamicQuantV2 %{{.*}} : (tensor<4x2xf32>) -> (tensor<4x2xi8>, tensor<4xf32>, tensor<4xf32>)
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[}}1, 3, 5], [2, 4, 6]]> : tensor<2x3xi8>
// CHECK: ascend.QuantBatchMatmulV3 %[[Y]], %[[W]], %{{.*}}, %[[S]], %[[O]], %{{.*}} : (tensor<4x2xi8>, tensor<2x3xi8>, tensor<3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<4x3xf32>
func.func @asymmetric_gemm(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = amct.const dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %c = amct.const dense<[0.5, 0.25, 0.0]> : tensor<3xf32>
  %q = amct.fake_quant_per_token %x {asymmetric = true} : tensor<4x2xf32>
  %wq = amct.fake_quant %w {scale = array<f32: 1.0, 1.0, 1.0>, offset = array<i64: 0, 0, 0>, axis = 0 : i64} : tensor<3x2xf32>
  %y = amct.Gemm %q, %wq, %c {transB = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<4x3xf32> loc("g")
  return %y : tensor<4x3xf32>
}
