// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-dmq-balance{record=%S/Inputs/dmq-record.txt}))' | FileCheck %s

// Inputs/dmq-record.txt: conv2 f = [2, 0.5]. Weights of input channel c are
// multiplied by f_c; the input, produced by conv1 through a Relu used only
// by conv2, is divided by folding 1/f into conv1's output channels (weight
// and bias). No op is added.
// conv1 W [[1],[3]] * [0.5, 2] = [[0.5],[6]]; bias [4, -2] -> [2, -4].
// conv2 W [1 x 2] = [[10, 20]] * [2, 0.5] = [[20, 10]].
// CHECK-LABEL: func.func @fold_into_conv
// CHECK-DAG: amct.const dense<{{\[\[\[\[}}5.000000e-01]]], {{\[\[\[}}6.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: amct.const dense<[2.000000e+00, -4.000000e+00]> : tensor<2xf32>
// CHECK-NOT: amct.Mul
// CHECK: amct.Relu
// CHECK-NEXT: amct.const dense<{{\[\[\[\[}}2.000000e+01]], {{\[\[}}1.000000e+01]]]]> : tensor<1x2x1x1xf32>
// CHECK-NOT: amct.Mul
// CHECK: return
func.func @fold_into_conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %n = amct.none
  %w1 = amct.const dense<[[[[1.0]]], [[[3.0]]]]> : tensor<2x1x1x1xf32> loc("w1")
  %b1 = amct.const dense<[4.0, -2.0]> : tensor<2xf32> loc("b1")
  %c1 = amct.Conv %x, %w1, %b1 : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  %r = amct.Relu %c1 : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("relu")
  %w2 = amct.const dense<[[[[10.0]], [[20.0]]]]> : tensor<1x2x1x1xf32> loc("w2")
  %c2 = amct.Conv %r, %w2, %n : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>, none) -> tensor<1x1x4x4xf32> loc("conv2")
  return %c2 : tensor<1x1x4x4xf32>
}

// -----

// A MatMul (Linear) layer: channels on the input's last dim, the weight
// [K, N] scaled by row. The input is a graph argument: an amct.Mul by
// 1/f = [0.25, 4, 1] is inserted, shaped [3] to broadcast on the last dim.
// CHECK-LABEL: func.func @linear_inserts_mul
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[}}4.000000e+00, 8.000000e+00], [2.500000e-01, 5.000000e-01], [1.000000e+00, 1.000000e+00]]> : tensor<3x2xf32>
// CHECK-DAG: %[[INV:.*]] = amct.const dense<[2.500000e-01, 4.000000e+00, 1.000000e+00]> : tensor<3xf32>
// CHECK: %[[M:.*]] = amct.Mul %arg0, %[[INV]] : (tensor<2x5x3xf32>, tensor<3xf32>) -> tensor<2x5x3xf32>
// CHECK: amct.MatMul %[[M]], %[[W]]
func.func @linear_inserts_mul(%x: tensor<2x5x3xf32>) -> tensor<2x5x2xf32> {
  %w = amct.const dense<[[1.0, 2.0], [1.0, 2.0], [1.0, 1.0]]> : tensor<3x2xf32> loc("w")
  %y = amct.MatMul %x, %w : (tensor<2x5x3xf32>, tensor<3x2xf32>) -> tensor<2x5x2xf32> loc("fc")
  return %y : tensor<2x5x2xf32>
}

// -----

// The producer's output has another user: folding would change it, so a
// Mul shaped [2, 1, 1] (channel axis 1 of NCHW) is inserted instead, and
// the producer is untouched.
// CHECK-LABEL: func.func @shared_input_inserts_mul
// CHECK: %[[R:.*]] = amct.Relu
// CHECK: amct.const dense<{{\[\[\[}}5.000000e-01]], {{\[\[}}2.500000e-01]]]> : tensor<2x1x1xf32>
// CHECK: %[[M:.*]] = amct.Mul %[[R]], %{{.*}} : (tensor<1x2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<1x2x4x4xf32>
// CHECK: amct.Conv %[[M]]
func.func @shared_input_inserts_mul(%x: tensor<1x2x4x4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %r = amct.Relu %x : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> loc("relu")
  %w = amct.const dense<1.0> : tensor<1x2x1x1xf32> loc("w")
  %c = amct.Conv %r, %w, %n : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>, none) -> tensor<1x1x4x4xf32> loc("shared_in")
  return %c, %r : tensor<1x1x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Depthwise conv (group 2, W [2, 1, 1, 1]): input channel c owns output
// channel c's weights. f = [2, 8]: W [1, 1] -> [2, 8]. Its input comes from
// a BatchNormalization used only here: its scale and bias are divided.
// CHECK-LABEL: func.func @depthwise_after_batchnorm
// CHECK-DAG: amct.const dense<[5.000000e-01, 2.500000e-01]> : tensor<2xf32>
// CHECK-DAG: amct.const dense<[1.500000e+00, 1.250000e-01]> : tensor<2xf32>
// CHECK-DAG: amct.const dense<{{\[\[\[\[}}2.000000e+00]]], {{\[\[\[}}8.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-NOT: amct.Mul
func.func @depthwise_after_batchnorm(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %s = amct.const dense<[1.0, 2.0]> : tensor<2xf32> loc("s")
  %b = amct.const dense<[3.0, 1.0]> : tensor<2xf32> loc("b")
  %m = amct.const dense<0.0> : tensor<2xf32> loc("m")
  %v = amct.const dense<1.0> : tensor<2xf32> loc("v")
  %bn = amct.BatchNormalization %x, %s, %b, %m, %v : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("bn")
  %w = amct.const dense<1.0> : tensor<2x1x1x1xf32> loc("w")
  %c = amct.Conv %bn, %w, %n {group = 2 : i64} : (tensor<1x2x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("dw")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// A layer without tensor_balance_factor is left alone.
// CHECK-LABEL: func.func @no_factor
// CHECK: amct.const dense<1.000000e+00> : tensor<1x2x1x1xf32>
// CHECK-NOT: amct.Mul
func.func @no_factor(%x: tensor<1x2x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<1.0> : tensor<1x2x1x1xf32> loc("w")
  %c = amct.Conv %x, %w, %n : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>, none) -> tensor<1x1x4x4xf32> loc("plain")
  return %c : tensor<1x1x4x4xf32>
}
