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

// -----

// torch shares equal initializers through Identity nodes (the zero biases
// of BatchNorm-folded convs): each Identity of a constant becomes a
// constant of its own, named as the Identity's output, so each layer has a
// constant bias again (quantizable: it can become int32).
// RUN: amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fold-constants))' | FileCheck %s --check-prefix=NAMES
// CHECK-LABEL: func.func @identity_of_constant
// CHECK-NOT: amct.Identity
// CHECK: %[[B1:.*]] = amct.const dense<0.000000e+00> : tensor<2xf32>
// CHECK-NEXT: %[[B2:.*]] = amct.const dense<0.000000e+00> : tensor<2xf32>
// CHECK-NEXT: amct.Conv %arg0, %{{.*}}, %[[B1]]
// CHECK-NEXT: amct.Conv %arg0, %{{.*}}, %[[B2]]
// NAMES-LABEL: func.func @identity_of_constant
// NAMES-DAG: amct.const dense<0.000000e+00> : tensor<2xf32> loc(#[[L1:.*]])
// NAMES-DAG: #[[L1]] = loc(fused<["bias_a"]>[
func.func @identity_of_constant(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %b = amct.const dense<0.0> : tensor<2xf32> loc("shared_zero")
  %w1 = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %w2 = amct.const dense<0.25> : tensor<2x2x1x1xf32>
  %b1 = amct.Identity %b : (tensor<2xf32>) -> tensor<2xf32> loc(fused<["bias_a"]>["id_a"])
  %b2 = amct.Identity %b : (tensor<2xf32>) -> tensor<2xf32> loc(fused<["bias_b"]>["id_b"])
  %c1 = amct.Conv %x, %w1, %b1 : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %c2 = amct.Conv %x, %w2, %b2 : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %c1, %c2 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}
