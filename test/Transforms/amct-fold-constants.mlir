// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fold-constants))' | FileCheck %s

// Transpose of a constant weight folds: [[1, 2, 3], [4, 5, 6]]^T.
// CHECK-LABEL: func.func @transpose_constant
// CHECK: %[[W:.*]] = amct.const dense<{{\[\[}}1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK-NOT: amct.Transpose
// CHECK: amct.MatMul %arg0, %[[W]]
func.func @transpose_constant(%x: tensor<4x5x3xf32>) -> tensor<4x5x2xf32> {
  %w = amct.const dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = amct.Transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %y = amct.MatMul %x, %t : (tensor<4x5x3xf32>, tensor<3x2xf32>) -> tensor<4x5x2xf32>
  return %y : tensor<4x5x2xf32>
}

// -----

// A Transpose of a graph input is data movement, not a constant: kept.
// CHECK-LABEL: func.func @transpose_input
// CHECK: amct.Transpose
func.func @transpose_input(%w: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %t = amct.Transpose %w {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %t : tensor<3x2xf32>
}
