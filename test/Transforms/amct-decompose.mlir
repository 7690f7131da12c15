// RUN: amct-opt %s -split-input-file -mlir-print-debuginfo -mlir-print-local-scope --pass-pipeline='builtin.module(func.func(amct-decompose{energy=1.0 even-if-larger=true}))' | FileCheck %s
// RUN: amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-decompose{ratio=0.5}))' | FileCheck %s --check-prefix=RATIO

// A 3x3 Conv2d: 1x1 (C -> R_in), the 3x3 core with the original's pads
// and strides, 1x1 (R_out -> M) with the bias; the last keeps the name.
// CHECK-LABEL: func.func @conv3x3
// CHECK: %[[A:.*]] = amct.Conv %arg0, %{{.*}}, %{{.*}} {kernel_shape = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>, tensor<4x4x1x1xf32>, none) -> tensor<1x4x6x6xf32> loc(fused<["conv.0_output_0"]>["conv.0"])
// CHECK: %[[B:.*]] = amct.Conv %[[A]], %{{.*}}, %{{.*}} {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x6x6xf32>, tensor<2x4x3x3xf32>, none) -> tensor<1x2x3x3xf32> loc(fused<["conv.1_output_0"]>["conv.1"])
// CHECK: amct.Conv %[[B]], %{{.*}}, %{{.*}} {kernel_shape = array<i64: 1, 1>} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32> loc("conv")
// RATIO-LABEL: func.func @conv3x3
// RATIO-COUNT-3: amct.Conv
func.func @conv3x3(%x: tensor<1x4x6x6xf32>) -> tensor<1x2x3x3xf32> {
  %w = amct.const dense<[[[[1.0, 0.0, 2.0], [0.5, 1.0, -1.0], [0.0, 3.0, 1.0]], [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]], [[0.0, -1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]], [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]]]> : tensor<2x4x3x3xf32>
  %b = amct.const dense<[0.5, -0.5]> : tensor<2xf32>
  %c = amct.Conv %x, %w, %b {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x6x6xf32>, tensor<2x4x3x3xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32> loc("conv")
  return %c : tensor<1x2x3x3xf32>
}

// -----

// A Gemm (transB): two thin Gemms, the bias and alpha on the second.
// CHECK-LABEL: func.func @gemm
// CHECK: %[[H:.*]] = amct.Gemm %arg0, %{{.*}}, %{{.*}} {transB = 1 : i64} : (tensor<3x4xf32>, tensor<2x4xf32>, none) -> tensor<3x2xf32> loc(fused<["fc.0_output_0"]>["fc.0"])
// CHECK: amct.Gemm %[[H]], %{{.*}}, %{{.*}} {alpha = 2.000000e+00 : f32, transB = 1 : i64} : (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<3x3xf32> loc("fc")
// The rank-2 weight at full energy: rank 2 (its rank), not 3.
func.func @gemm(%x: tensor<3x4xf32>) -> tensor<3x3xf32> {
  %w = amct.const dense<[[1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0], [0.0, 1.0, 0.0, 1.0]]> : tensor<3x4xf32>
  %b = amct.const dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %g = amct.Gemm %x, %w, %b {alpha = 2.0 : f32, transB = 1 : i64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x3xf32> loc("fc")
  return %g : tensor<3x3xf32>
}

// -----

// Declined: depthwise convolutions are not decomposed; at ratio 0.5 a
// small Linear whose factors cost more is left (RATIO).
// CHECK-LABEL: func.func @declined
// CHECK: amct.Conv {{.*}} {group = 2 : i64{{.*}} loc("dw")
// RATIO-LABEL: func.func @declined
// RATIO: amct.Conv {{.*}}group = 2
// RATIO: amct.MatMul {{.*}} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
// RATIO-NOT: amct.MatMul
func.func @declined(%x: tensor<1x2x4x4xf32>, %y: tensor<1x2xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2xf32>) {
  %n = amct.none
  %w = amct.const dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %c = amct.Conv %x, %w, %n {group = 2 : i64} : (tensor<1x2x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("dw")
  %m = amct.const dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %r = amct.MatMul %y, %m : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32> loc("small")
  return %c, %r : tensor<1x2x4x4xf32>, tensor<1x2xf32>
}
