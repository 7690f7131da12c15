// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fuse))' | FileCheck %s
// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fuse{skip-layers=conv1,mm}))' | FileCheck %s --check-prefix=SKIP

// Conv + BN: s = gamma / sqrt(var + eps) = [2/sqrt(4), 3/sqrt(1)] = [1, 3];
// W' = W * s per output channel; b' = (b - mean) * s + beta
//    = [(1 - 1) * 1 + 0.5, (2 - 4) * 3 + 1] = [0.5, -5].
// CHECK-LABEL: func.func @conv_bn
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}6.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[B:.*]] = amct.const dense<[5.000000e-01, -5.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = amct.Conv %arg0, %[[W]], %[[B]]
// CHECK-NOT: amct.BatchNormalization
// CHECK: return %[[Y]]
// SKIP-LABEL: func.func @conv_bn
// SKIP: amct.BatchNormalization
func.func @conv_bn(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32> loc("w")
  %b = amct.const dense<[1.0, 2.0]> : tensor<2xf32> loc("b")
  %gamma = amct.const dense<[2.0, 3.0]> : tensor<2xf32>
  %beta = amct.const dense<[0.5, 1.0]> : tensor<2xf32>
  %mean = amct.const dense<[1.0, 4.0]> : tensor<2xf32>
  %var = amct.const dense<[4.0, 1.0]> : tensor<2xf32>
  %c = amct.Conv %x, %w, %b : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  %y = amct.BatchNormalization %c, %gamma, %beta, %mean, %var {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("bn1")
  return %y : tensor<1x2x4x4xf32>
}

// -----

// ConvTranspose W is [C_in, C_out/group, k]: the factor applies along dim 1.
// No bias: b' = -mean * s + beta = [-1 * 1 + 0.5, -4 * 3 + 1] = [-0.5, -11].
// CHECK-LABEL: func.func @convtranspose_bn
// CHECK-DAG: amct.const dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}6.000000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK-DAG: amct.const dense<[-5.000000e-01, -1.100000e+01]> : tensor<2xf32>
// CHECK: amct.ConvTranspose
// CHECK-NOT: amct.BatchNormalization
func.func @convtranspose_bn(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<[[[[1.0]], [[2.0]]]]> : tensor<1x2x1x1xf32>
  %gamma = amct.const dense<[2.0, 3.0]> : tensor<2xf32>
  %beta = amct.const dense<[0.5, 1.0]> : tensor<2xf32>
  %mean = amct.const dense<[1.0, 4.0]> : tensor<2xf32>
  %var = amct.const dense<[4.0, 1.0]> : tensor<2xf32>
  %c = amct.ConvTranspose %x, %w, %n : (tensor<1x1x4x4xf32>, tensor<1x2x1x1xf32>, none) -> tensor<1x2x4x4xf32>
  %y = amct.BatchNormalization %c, %gamma, %beta, %mean, %var {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// The conv output is also returned: folding would change that value.
// CHECK-LABEL: func.func @conv_two_users
// CHECK: amct.Conv
// CHECK: amct.BatchNormalization
func.func @conv_two_users(%x: tensor<1x1x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w = amct.const dense<1.0> : tensor<2x1x1x1xf32>
  %p = amct.const dense<1.0> : tensor<2xf32>
  %c = amct.Conv %x, %w, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32>
  %y = amct.BatchNormalization %c, %p, %p, %p, %p : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %c, %y : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// A weight that is a graph input cannot be folded.
// CHECK-LABEL: func.func @conv_weight_not_constant
// CHECK: amct.BatchNormalization
func.func @conv_weight_not_constant(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %p = amct.const dense<1.0> : tensor<2xf32>
  %c = amct.Conv %x, %w, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32>
  %y = amct.BatchNormalization %c, %p, %p, %p, %p : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_add
// CHECK: %[[G:.*]] = amct.Gemm %arg0, %{{.*}}, %{{.*}} : (tensor<?x3xf32>, tensor<3x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
// CHECK-NOT: amct.Add
// CHECK: return %[[G]]
// SKIP-LABEL: func.func @matmul_add
// SKIP: amct.MatMul
func.func @matmul_add(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %w = amct.const dense<1.0> : tensor<3x2xf32>
  %b = amct.const dense<[1.0, 2.0]> : tensor<2xf32>
  %m = amct.MatMul %x, %w : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32> loc("mm")
  %y = amct.Add %b, %m : (tensor<2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Batched (3-D) MatMul has no Gemm form.
// CHECK-LABEL: func.func @matmul_3d
// CHECK: amct.MatMul
// CHECK: amct.Add
func.func @matmul_3d(%x: tensor<2x4x3xf32>) -> tensor<2x4x2xf32> {
  %w = amct.const dense<1.0> : tensor<3x2xf32>
  %b = amct.const dense<[1.0, 2.0]> : tensor<2xf32>
  %m = amct.MatMul %x, %w : (tensor<2x4x3xf32>, tensor<3x2xf32>) -> tensor<2x4x2xf32>
  %y = amct.Add %m, %b : (tensor<2x4x2xf32>, tensor<2xf32>) -> tensor<2x4x2xf32>
  return %y : tensor<2x4x2xf32>
}

