// RUN: amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-prune{method=2:4}))' | FileCheck %s

// In each run of 4 input channels of a row the 2 smallest magnitudes
// become 0; a run of 3 (7 channels = 4 + 3, padded) keeps 2. Gemm
// transB: the row is [N, K].
// CHECK-LABEL: func.func @gemm
// CHECK: dense<{{\[}}[1.000000e+00, 0.000000e+00, 0.000000e+00, -4.000000e+00, 5.000000e+00, 6.000000e+00, 0.000000e+00]]> : tensor<1x7xf32>
func.func @gemm(%x: tensor<1x7xf32>) -> tensor<1x1xf32> {
  %w = amct.const dense<[[1.0, 0.5, -0.25, -4.0, 5.0, 6.0, 0.1]]> : tensor<1x7xf32>
  %n = amct.none
  %g = amct.Gemm %x, %w, %n {transB = 1 : i64} : (tensor<1x7xf32>, tensor<1x7xf32>, none) -> tensor<1x1xf32> loc("fc")
  return %g : tensor<1x1xf32>
}

// -----

// Conv: runs along the input channels (axis 1) at each kernel tap; a
// run of 3 channels loses its smallest.
// CHECK-LABEL: func.func @conv
// CHECK: dense<{{\[}}[{{\[}}[0.000000e+00]], {{\[}}[2.000000e+00]], {{\[}}[-3.000000e+00]]]]> : tensor<1x3x1x1xf32>
func.func @conv(%x: tensor<1x3x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %w = amct.const dense<[[[[1.0]], [[2.0]], [[-3.0]]]]> : tensor<1x3x1x1xf32>
  %n = amct.none
  %c = amct.Conv %x, %w, %n : (tensor<1x3x2x2xf32>, tensor<1x3x1x1xf32>, none) -> tensor<1x1x2x2xf32> loc("conv")
  return %c : tensor<1x1x2x2xf32>
}
