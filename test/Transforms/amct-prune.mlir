// RUN: amct-opt %s -split-input-file -mlir-print-debuginfo -mlir-print-local-scope --pass-pipeline='builtin.module(func.func(amct-prune{ratio=0.5 align=1}))' 2>/dev/null | FileCheck %s
// RUN: amct-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-prune{ratio=0.5 align=1}))' 2>&1 >/dev/null | FileCheck %s --check-prefix=REMARK

// Conv -> BN -> Relu -> Conv: the lowest-norm half of conv1's filters
// (channels 1 and 3: norms 0.1 and 0.2 against 1 and 2) goes, with BN's
// entries and conv2's input channels.
// CHECK-LABEL: func.func @conv_bn_conv
// CHECK: amct.const dense<{{\[}}[{{\[}}[1.000000e+00]]], {{\[}}[{{\[}}2.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK: amct.const dense<[1.000000e+01, 3.000000e+01]> : tensor<2xf32>
// CHECK: amct.Conv {{.*}} -> tensor<1x2x2x2xf32>
// CHECK: amct.BatchNormalization {{.*}}tensor<2xf32>{{.*}} -> tensor<1x2x2x2xf32>
// CHECK: amct.const dense<{{\[}}[{{\[}}[5.000000e+00]], {{\[}}[7.000000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK: amct.Conv {{.*}} : (tensor<1x2x2x2xf32>, tensor<1x2x1x1xf32>, none) -> tensor<1x1x2x2xf32>
func.func @conv_bn_conv(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %n = amct.none
  %w1 = amct.const dense<[[[[1.0]]], [[[0.1]]], [[[2.0]]], [[[-0.2]]]]> : tensor<4x1x1x1xf32>
  %b1 = amct.const dense<[10.0, 20.0, 30.0, 40.0]> : tensor<4xf32>
  %c1 = amct.Conv %x, %w1, %b1 : (tensor<1x1x2x2xf32>, tensor<4x1x1x1xf32>, tensor<4xf32>) -> tensor<1x4x2x2xf32> loc("conv1")
  %s = amct.const dense<[1.0, 1.0, 1.0, 1.0]> : tensor<4xf32>
  %z = amct.const dense<[0.0, 0.0, 0.0, 0.0]> : tensor<4xf32>
  %bn = amct.BatchNormalization %c1, %s, %z, %z, %s : (tensor<1x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x2x2xf32> loc("bn1")
  %r = amct.Relu %bn : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> loc("relu1")
  %w2 = amct.const dense<[[[[5.0]], [[6.0]], [[7.0]], [[8.0]]]]> : tensor<1x4x1x1xf32>
  // REMARK: remark: loc("conv2"): not pruned: its channels reach a graph output
  %c2 = amct.Conv %r, %w2, %n : (tensor<1x4x2x2xf32>, tensor<1x4x1x1xf32>, none) -> tensor<1x1x2x2xf32> loc("conv2")
  return %c2 : tensor<1x1x2x2xf32>
}

// -----

// A residual Add joins conv_a and conv_b: they lose the same channels,
// chosen by the summed normalised norms (channel 0 is weak in both).
// Flatten -> Gemm: each channel is 4 features of the Gemm's input.
// CHECK-LABEL: func.func @residual_flatten_gemm
// CHECK: amct.Conv {{.*}} -> tensor<1x1x2x2xf32> loc("conv_a")
// CHECK: amct.Conv {{.*}} -> tensor<1x1x2x2xf32> loc("conv_b")
// CHECK: amct.Add {{.*}} -> tensor<1x1x2x2xf32>
// CHECK: amct.Flatten {{.*}} -> tensor<1x4xf32>
// CHECK: amct.Gemm {{.*}} : (tensor<1x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<1x3xf32>
func.func @residual_flatten_gemm(%x: tensor<1x1x2x2xf32>) -> tensor<1x3xf32> {
  %n = amct.none
  %wa = amct.const dense<[[[[0.01]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  %wb = amct.const dense<[[[[0.02]]], [[[1.0]]]]> : tensor<2x1x1x1xf32>
  %a = amct.Conv %x, %wa, %n : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x2x2xf32> loc("conv_a")
  %b = amct.Conv %x, %wb, %n : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x2x2xf32> loc("conv_b")
  %s = amct.Add %a, %b : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("add")
  %f = amct.Flatten %s {axis = 1 : i64} : (tensor<1x2x2x2xf32>) -> tensor<1x8xf32> loc("flatten")
  %wg = amct.const dense<1.0> : tensor<3x8xf32>
  %bg = amct.const dense<0.0> : tensor<3xf32>
  // REMARK: remark: loc("fc"): not pruned: its channels reach a graph output
  %g = amct.Gemm %f, %wg, %bg {transB = 1 : i64} : (tensor<1x8xf32>, tensor<3x8xf32>, tensor<3xf32>) -> tensor<1x3xf32> loc("fc")
  return %g : tensor<1x3xf32>
}

// -----

// Channels that reach a graph output are not pruned.
// CHECK-LABEL: func.func @output_keeps
// CHECK: amct.Conv {{.*}} -> tensor<1x2x2x2xf32> loc("conv_out")
func.func @output_keeps(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %n = amct.none
  %w = amct.const dense<[[[[0.01]]], [[[3.0]]]]> : tensor<2x1x1x1xf32>
  // REMARK: remark: loc("conv_out"): not pruned: its channels reach a graph output
  %c = amct.Conv %x, %w, %n : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x2x2xf32> loc("conv_out")
  return %c : tensor<1x2x2x2xf32>
}

// -----

// Depthwise convolutions are pruned passively (weight, bias, group); a
// constant multiplied per channel is sliced; Concat places each input's
// channels at its offset in the consumer.
// CHECK-LABEL: func.func @depthwise_concat
// CHECK: amct.Conv {{.*}} -> tensor<1x2x2x2xf32> loc("pw")
// CHECK: amct.Conv {{.*}} {group = 2 : i64} : (tensor<1x2x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32> loc("dw")
// CHECK: amct.Mul {{.*}} : (tensor<1x2x2x2xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x2x2xf32>
// CHECK: amct.Concat {{.*}} -> tensor<1x3x2x2xf32>
// CHECK: amct.const dense<{{\[}}[{{\[}}[1.000000e+00]], {{\[}}[3.000000e+00]], {{\[}}[5.000000e+00]]]]> : tensor<1x3x1x1xf32>
func.func @depthwise_concat(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %n = amct.none
  %wp = amct.const dense<[[[[0.01]]], [[[3.0]]], [[[0.02]]], [[[2.0]]]]> : tensor<4x1x1x1xf32>
  %p = amct.Conv %x, %wp, %n : (tensor<1x1x2x2xf32>, tensor<4x1x1x1xf32>, none) -> tensor<1x4x2x2xf32> loc("pw")
  %wd = amct.const dense<[[[[1.0]]], [[[2.0]]], [[[3.0]]], [[[4.0]]]]> : tensor<4x1x1x1xf32>
  %bd = amct.const dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %d = amct.Conv %p, %wd, %bd {group = 4 : i64} : (tensor<1x4x2x2xf32>, tensor<4x1x1x1xf32>, tensor<4xf32>) -> tensor<1x4x2x2xf32> loc("dw")
  %k = amct.const dense<[[[[1.0]], [[2.0]], [[3.0]], [[4.0]]]]> : tensor<1x4x1x1xf32>
  %m = amct.Mul %d, %k : (tensor<1x4x2x2xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x2x2xf32> loc("mul")
  %cat = amct.Concat %x, %m {axis = 1 : i64} : (tensor<1x1x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x5x2x2xf32> loc("cat")
  %wc = amct.const dense<[[[[1.0]], [[2.0]], [[3.0]], [[4.0]], [[5.0]]]]> : tensor<1x5x1x1xf32>
  // REMARK: remark: loc("consumer"): not pruned: its channels reach a graph output
  %c = amct.Conv %cat, %wc, %n : (tensor<1x5x2x2xf32>, tensor<1x5x1x1xf32>, none) -> tensor<1x1x2x2xf32> loc("consumer")
  return %c : tensor<1x1x2x2xf32>
}

// -----

// Declined: a Softmax over the channels cannot follow them, a grouped
// convolution would lose different channels per group.
// CHECK-LABEL: func.func @declined
// CHECK: amct.Conv {{.*}} -> tensor<1x4x2x2xf32> loc("to_softmax")
// CHECK: amct.Conv {{.*}} -> tensor<1x4x2x2xf32> loc("to_grouped")
func.func @declined(%x: tensor<1x1x2x2xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x2x2x2xf32>) {
  %n = amct.none
  %w = amct.const dense<[[[[0.01]]], [[[3.0]]], [[[0.02]]], [[[2.0]]]]> : tensor<4x1x1x1xf32>
  // REMARK: remark: loc("to_softmax"): not pruned: 'Softmax' node 'sm' reads the channels
  %a = amct.Conv %x, %w, %n : (tensor<1x1x2x2xf32>, tensor<4x1x1x1xf32>, none) -> tensor<1x4x2x2xf32> loc("to_softmax")
  %s = amct.Softmax %a {axis = 1 : i64} : (tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> loc("sm")
  %w2 = amct.const dense<[[[[0.01]]], [[[3.0]]], [[[0.02]]], [[[2.0]]]]> : tensor<4x1x1x1xf32>
  // REMARK: remark: loc("to_grouped"): not pruned: 'Conv' node 'grouped' is a grouped convolution
  %b = amct.Conv %x, %w2, %n : (tensor<1x1x2x2xf32>, tensor<4x1x1x1xf32>, none) -> tensor<1x4x2x2xf32> loc("to_grouped")
  %wg = amct.const dense<1.0> : tensor<2x2x1x1xf32>
  // REMARK: remark: loc("grouped"): not pruned: a grouped convolution (its groups would lose different channels)
  %g = amct.Conv %b, %wg, %n {group = 2 : i64} : (tensor<1x4x2x2xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x2x2xf32> loc("grouped")
  return %s, %g : tensor<1x4x2x2xf32>, tensor<1x2x2x2xf32>
}

// -----

// A transformer MLP: MatMul + bias Add, GELU as Div / Erf / Add / Mul by
// constants (x * 0.5 * (1 + erf(x / sqrt 2)): the two uses of x meet in a
// Mul), MatMul down: the hidden channels go from the up weight's columns,
// its bias, and the down weight's rows. The down projection's output
// joins the residual stream (a graph input): not prunable.
// CHECK-LABEL: func.func @mlp
// CHECK: amct.MatMul {{.*}} : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32> loc("up")
// CHECK: amct.Add {{.*}} : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
// CHECK: amct.Mul {{.*}} -> tensor<2x3x4xf32>
// CHECK: amct.MatMul {{.*}} : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32> loc("down")
func.func @mlp(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %wu = amct.const dense<[[1.0, 0.0, 2.0, 0.1, 1.0, 0.0, 3.0, 0.2], [0.0, 1.0, 0.0, 0.1, 1.0, 0.0, 3.0, 0.2], [1.0, 0.0, 2.0, 0.1, 1.0, 1.0, 3.0, 0.2], [1.0, 1.0, 2.0, 0.1, 1.0, 0.0, 3.0, 0.2]]> : tensor<4x8xf32>
  %bu = amct.const dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32>
  %u = amct.MatMul %x, %wu : (tensor<2x3x4xf32>, tensor<4x8xf32>) -> tensor<2x3x8xf32> loc("up")
  %ub = amct.Add %u, %bu : (tensor<2x3x8xf32>, tensor<8xf32>) -> tensor<2x3x8xf32> loc("up_bias")
  %s2 = amct.const dense<1.41421354> : tensor<f32>
  %d = amct.Div %ub, %s2 : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32> loc("div")
  %e = amct.Erf %d : (tensor<2x3x8xf32>) -> tensor<2x3x8xf32> loc("erf")
  %one = amct.const dense<1.0> : tensor<f32>
  %e1 = amct.Add %e, %one : (tensor<2x3x8xf32>, tensor<f32>) -> tensor<2x3x8xf32> loc("add1")
  %g = amct.Mul %ub, %e1 : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32> loc("gelu")
  %wd = amct.const dense<1.0> : tensor<8x4xf32>
  // REMARK: remark: loc("down"): not pruned: 'Add' node 'residual' combines the channels with a tensor that has its own values per channel
  %dn = amct.MatMul %g, %wd : (tensor<2x3x8xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32> loc("down")
  %r = amct.Add %x, %dn : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32> loc("residual")
  return %r : tensor<2x3x4xf32>
}

// -----

// Two convolutions sharing one weight constant are not pruned (their
// filters cannot lose channels independently): their group (joined by the
// Add) is reported once, and left as it is.
// CHECK-LABEL: func.func @shared_weight
// CHECK: amct.Conv {{.*}} -> tensor<1x4x2x2xf32> loc("shared_a")
// CHECK: amct.Conv {{.*}} -> tensor<1x4x2x2xf32> loc("shared_b")
func.func @shared_weight(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %n = amct.none
  %w = amct.const dense<[[[[0.01]]], [[[3.0]]], [[[0.02]]], [[[2.0]]]]> : tensor<4x1x1x1xf32>
  // REMARK: remark: loc("shared_a"): not pruned: its weight is shared with another node
  %a = amct.Conv %x, %w, %n : (tensor<1x1x2x2xf32>, tensor<4x1x1x1xf32>, none) -> tensor<1x4x2x2xf32> loc("shared_a")
  %b = amct.Conv %x, %w, %n : (tensor<1x1x2x2xf32>, tensor<4x1x1x1xf32>, none) -> tensor<1x4x2x2xf32> loc("shared_b")
  %s = amct.Add %a, %b : (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> loc("add")
  %wc = amct.const dense<1.0> : tensor<1x4x1x1xf32>
  // REMARK: remark: loc("out"): not pruned: its channels reach a graph output
  %c = amct.Conv %s, %wc, %n : (tensor<1x4x2x2xf32>, tensor<1x4x1x1xf32>, none) -> tensor<1x1x2x2xf32> loc("out")
  return %c : tensor<1x1x2x2xf32>
}
