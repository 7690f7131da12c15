// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-convert))' | FileCheck %s

// Fake-quant model -> Ascend deploy model (docs/Quantization.md):
//   AscendQuant(scale = 1 / scale_d, offset = offset_d) before the layer,
//   int8 weights q = clamp(rint(w / scale_w[c]) + offset_w[c], -128, 127),
//   int32 bias rint(b / (scale_d * scale_w[c])), the layer on int8 with an
//   i32 result, AscendDequant after it with deq_scale[c] = the float32 bits
//   of scale_d * scale_w[c] in a uint64. A nonzero offset_d is also the
//   layer's offset_x (Ascend's zero point of the int8 data input).

// scale_d = 0.05, offset_d = -3: AscendQuant scale = 1 / 0.05 = 20.
// w = [0.1, -0.2], scale_w = [0.01, 0.02] -> [10, -10].
// deq = 0.05f * [0.01f, 0.02f] = [0.000500000024f, 0.00100000005f]
//     = bits [0x3A03126F, 0x3A83126F] = [973279855, 981668463].
// b = [0.5, -0.25] -> [0.5 / 0.0005, -0.25 / 0.001] = [1000, -250].
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x1x4x4xf32>)
// The fake-quant ops and the float weight are gone.
// CHECK-NOT: amct.fake_quant
// CHECK-NOT: tensor<2x1x1x1xf32>
// CHECK-DAG: %[[Q:.*]] = ascend.AscendQuant %[[X]] {dst_type = "INT8", offset = -3.000000e+00 : f32, scale = 2.000000e+01 : f32} : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xi8>
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[\[\[}}10]]], {{\[\[\[}}-10]]]]> : tensor<2x1x1x1xi8>
// CHECK-DAG: %[[B:.*]] = amct.const dense<[1000, -250]> : tensor<2xi32>
// CHECK: %[[Y:.*]] = amct.Conv %[[Q]], %[[W]], %[[B]] {offset_x = -3 : i64} : (tensor<1x1x4x4xi8>, tensor<2x1x1x1xi8>, tensor<2xi32>) -> tensor<1x2x4x4xi32>
// CHECK-NEXT: %[[D:.*]] = amct.const dense<[973279855, 981668463]> : tensor<2xui64>
// CHECK-NEXT: %[[R:.*]] = ascend.AscendDequant %[[Y]], %[[D]] {dtype = 0 : i64} : (tensor<1x2x4x4xi32>, tensor<2xui64>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT: %[[RELU:.*]] = amct.Relu %[[R]]
// CHECK-NEXT: return %[[RELU]]
func.func @conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32> loc("w")
  %b = amct.const dense<[0.5, -0.25]> : tensor<2xf32> loc("b")
  %xq = amct.fake_quant %x {offset = array<i64: -3>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %wq = amct.fake_quant %w {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %c = amct.Conv %xq, %wq, %b : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  %r = amct.Relu %c : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %r : tensor<1x2x4x4xf32>
}

// -----

// Two convs reading the same fake-quantized input share one AscendQuant.
// conv2 has a per-tensor weight scale: w = [0.3, 0.4] / 0.1 -> [3, 4] and a
// single deq_scale 0.05f * 0.1f = 0.00500000035f = 0x3BA3D70B = 1000593163.
// CHECK-LABEL: func.func @shared_input
// CHECK: %[[Q:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = -3.000000e+00 : f32, scale = 2.000000e+01 : f32}
// CHECK-NOT: ascend.AscendQuant
// CHECK: %[[Y1:.*]] = amct.Conv %[[Q]], %{{.*}}, %{{.*}} {offset_x = -3 : i64} : (tensor<1x1x4x4xi8>, tensor<2x1x1x1xi8>, none) -> tensor<1x2x4x4xi32>
// CHECK-NEXT: %[[D1:.*]] = amct.const dense<[973279855, 981668463]> : tensor<2xui64>
// CHECK-NEXT: %[[R1:.*]] = ascend.AscendDequant %[[Y1]], %[[D1]]
// CHECK-NOT: ascend.AscendQuant
// CHECK: %[[W2:.*]] = amct.const dense<{{\[\[\[\[}}3]]], {{\[\[\[}}4]]]]> : tensor<2x1x1x1xi8>
// CHECK-NEXT: %[[Y2:.*]] = amct.Conv %[[Q]], %[[W2]], %{{.*}} {offset_x = -3 : i64} : (tensor<1x1x4x4xi8>, tensor<2x1x1x1xi8>, none) -> tensor<1x2x4x4xi32>
// CHECK-NEXT: %[[D2:.*]] = amct.const dense<1000593163> : tensor<1xui64>
// CHECK-NEXT: %[[R2:.*]] = ascend.AscendDequant %[[Y2]], %[[D2]] {dtype = 0 : i64} : (tensor<1x2x4x4xi32>, tensor<1xui64>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT: return %[[R1]], %[[R2]]
func.func @shared_input(%x: tensor<1x1x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w1 = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32> loc("w1")
  %w2 = amct.const dense<[[[[0.3]]], [[[0.4]]]]> : tensor<2x1x1x1xf32> loc("w2")
  %xq = amct.fake_quant %x {offset = array<i64: -3>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %w1q = amct.fake_quant %w1 {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %w2q = amct.fake_quant %w2 {offset = array<i64: 0>, scale = array<f32: 0.1>} : tensor<2x1x1x1xf32>
  %c1 = amct.Conv %xq, %w1q, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv1")
  %c2 = amct.Conv %xq, %w2q, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv2")
  return %c1, %c2 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Separate but identical fake-quant ops on one input share an AscendQuant
// too; other parameters on the same input get their own.
// CHECK-LABEL: func.func @identical_fake_quants
// CHECK: %[[Q1:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = -3.000000e+00 : f32, scale = 2.000000e+01 : f32}
// CHECK: amct.Conv %[[Q1]], %{{.*}}, %{{.*}} {offset_x = -3 : i64} :
// CHECK-NOT: ascend.AscendQuant
// CHECK: amct.Conv %[[Q1]], %{{.*}}, %{{.*}} {offset_x = -3 : i64} :
// CHECK: %[[Q2:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = 0.000000e+00 : f32, scale = 1.000000e+01 : f32}
// CHECK: amct.Conv %[[Q2]], %{{.*}}, %{{.*}} : (
// CHECK-NOT: ascend.AscendQuant
func.func @identical_fake_quants(%x: tensor<1x1x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w1 = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %w2 = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %w3 = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %xq1 = amct.fake_quant %x {offset = array<i64: -3>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %xq2 = amct.fake_quant %x {offset = array<i64: -3>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %xq3 = amct.fake_quant %x {offset = array<i64: 0>, scale = array<f32: 0.1>} : tensor<1x1x4x4xf32>
  %w1q = amct.fake_quant %w1 {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %w2q = amct.fake_quant %w2 {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %w3q = amct.fake_quant %w3 {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %c1 = amct.Conv %xq1, %w1q, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv1")
  %c2 = amct.Conv %xq2, %w2q, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv2")
  %c3 = amct.Conv %xq3, %w3q, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv3")
  return %c1, %c2, %c3 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// AvgPool2d as AMCT deploys it: AscendQuant -> AveragePool on the int8 data
// (the zero point as offset_x: the average of q - offset_d) ->
// AscendDequant with scale_w = 1, deq_scale = bits(float(scale_d)) (0.1).
// CHECK-LABEL: func.func @avg_pool
// CHECK-NEXT: %[[Q:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = 5.000000e+00 : f32, scale = 1.000000e+01 : f32} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xi8>
// CHECK-NEXT: %[[D:.*]] = amct.const dense<1036831949> : tensor<1xui64>
// CHECK-NEXT: %[[P:.*]] = amct.AveragePool %[[Q]] {kernel_shape = array<i64: 2, 2>, offset_x = 5 : i64, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xi8>) -> tensor<1x2x2x2xf32>
// CHECK-NEXT: %[[R:.*]] = ascend.AscendDequant %[[P]], %[[D]] {dtype = 0 : i64} : (tensor<1x2x2x2xf32>, tensor<1xui64>) -> tensor<1x2x2x2xf32>
// CHECK-NEXT: return %[[R]]
func.func @avg_pool(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %xq = amct.fake_quant %x {offset = array<i64: 5>, scale = array<f32: 0.1>} : tensor<1x2x4x4xf32>
  %p = amct.AveragePool %xq {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> loc("pool")
  return %p : tensor<1x2x2x2xf32>
}

// -----

// A layer whose activation is not fake-quantized stays float.
// CHECK-LABEL: func.func @float_layer
// CHECK-NOT: ascend.
// CHECK: %[[W:.*]] = amct.const dense<{{\[\[\[\[}}1.000000e-01]]], {{\[\[\[}}-2.000000e-01]]]]> : tensor<2x1x1x1xf32>
// CHECK-NEXT: amct.Conv %arg0, %[[W]], %{{.*}} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32>
// CHECK-NOT: ascend.
func.func @float_layer(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32> loc("w")
  %c = amct.Conv %x, %w, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv1")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// ConvTranspose: W is [C_in, C_out, kH, kW], scale_w along axis 1.
// w = [0.5, -0.25] / [0.125, 0.0625] -> [4, -4];
// deq = 0.25 * [0.125, 0.0625] = [0.03125, 0.015625] = [0x3D000000, 0x3C800000];
// b = [0.25, 1.0] / deq = [8, 64].
// CHECK-LABEL: func.func @conv_transpose
// CHECK-DAG: %[[Q:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = 0.000000e+00 : f32, scale = 4.000000e+00 : f32}
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[\[\[}}4]], {{\[\[}}-4]]]]> : tensor<1x2x1x1xi8>
// CHECK-DAG: %[[B:.*]] = amct.const dense<[8, 64]> : tensor<2xi32>
// CHECK: %[[Y:.*]] = amct.ConvTranspose %[[Q]], %[[W]], %[[B]] : (tensor<1x1x4x4xi8>, tensor<1x2x1x1xi8>, tensor<2xi32>) -> tensor<1x2x4x4xi32>
// CHECK-NEXT: %[[D:.*]] = amct.const dense<[1023410176, 1015021568]> : tensor<2xui64>
// CHECK-NEXT: ascend.AscendDequant %[[Y]], %[[D]] {dtype = 0 : i64} : (tensor<1x2x4x4xi32>, tensor<2xui64>) -> tensor<1x2x4x4xf32>
func.func @conv_transpose(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.5]], [[-0.25]]]]> : tensor<1x2x1x1xf32> loc("wt")
  %b = amct.const dense<[0.25, 1.0]> : tensor<2xf32> loc("bt")
  %xq = amct.fake_quant %x {offset = array<i64: 0>, scale = array<f32: 0.25>} : tensor<1x1x4x4xf32>
  %wq = amct.fake_quant %w {axis = 1 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.125, 0.0625>} : tensor<1x2x1x1xf32>
  %c = amct.ConvTranspose %xq, %wq, %b : (tensor<1x1x4x4xf32>, tensor<1x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("deconv")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// Gemm with transB = 0 (B is [K, N], scale_w along axis 1), rounding half to
// even and saturating:
//   w row 0 = [0.625 / 0.25, 0.75 / 0.5, 1.875 / 0.75] = [2.5, 1.5, 2.5] -> [2, 2, 2]
//   w row 1 = [-0.375 / 0.25, 64 / 0.5, -100 / 0.75] = [-1.5, 128, -133.3] -> [-2, 127, -128]
//   deq = 0.5 * [0.25, 0.5, 0.75] = [0.125, 0.25, 0.375]
//       = [0x3E000000, 0x3E800000, 0x3EC00000] = [1040187392, 1048576000, 1052770304]
//   b = [0.3125, -0.625, 0.5625] / deq = [2.5, -2.5, 1.5] -> [2, -2, 2]
// MatMul by a constant [K, N] (no bias), scale_w along axis 1:
//   w = [[1, 2, 4], [-1, -2, -4]] / [0.0625, 0.125, 0.25] -> [[16, 16, 16], [-16, -16, -16]]
//   deq = 0.125 * [0.0625, 0.125, 0.25] = [1006632960, 1015021568, 1023410176]
// CHECK-LABEL: func.func @gemm_matmul
// CHECK-DAG: %[[Q1:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = 1.000000e+01 : f32, scale = 2.000000e+00 : f32} : (tensor<3x2xf32>) -> tensor<3x2xi8>
// CHECK-DAG: %[[W1:.*]] = amct.const dense<{{\[\[}}2, 2, 2], [-2, 127, -128]]> : tensor<2x3xi8>
// CHECK-DAG: %[[B1:.*]] = amct.const dense<[2, -2, 2]> : tensor<3xi32>
// CHECK: %[[Y1:.*]] = amct.Gemm %[[Q1]], %[[W1]], %[[B1]] {offset_x = 10 : i64} : (tensor<3x2xi8>, tensor<2x3xi8>, tensor<3xi32>) -> tensor<3x3xi32>
// CHECK-NEXT: %[[D1:.*]] = amct.const dense<[1040187392, 1048576000, 1052770304]> : tensor<3xui64>
// CHECK-NEXT: %[[R1:.*]] = ascend.AscendDequant %[[Y1]], %[[D1]] {dtype = 0 : i64} : (tensor<3x3xi32>, tensor<3xui64>) -> tensor<3x3xf32>
// CHECK-DAG: %[[Q2:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = -1.280000e+02 : f32, scale = 8.000000e+00 : f32} : (tensor<3x2xf32>) -> tensor<3x2xi8>
// CHECK-DAG: %[[W2:.*]] = amct.const dense<{{\[\[}}16, 16, 16], [-16, -16, -16]]> : tensor<2x3xi8>
// CHECK: %[[Y2:.*]] = amct.MatMul %[[Q2]], %[[W2]] {offset_x = -128 : i64} : (tensor<3x2xi8>, tensor<2x3xi8>) -> tensor<3x3xi32>
// CHECK-NEXT: %[[D2:.*]] = amct.const dense<[1006632960, 1015021568, 1023410176]> : tensor<3xui64>
// CHECK-NEXT: %[[R2:.*]] = ascend.AscendDequant %[[Y2]], %[[D2]] {dtype = 0 : i64} : (tensor<3x3xi32>, tensor<3xui64>) -> tensor<3x3xf32>
// CHECK-NEXT: return %[[R1]], %[[R2]]
func.func @gemm_matmul(%a: tensor<3x2xf32>) -> (tensor<3x3xf32>, tensor<3x3xf32>) {
  %w = amct.const dense<[[0.625, 0.75, 1.875], [-0.375, 64.0, -100.0]]> : tensor<2x3xf32> loc("fc_w")
  %b = amct.const dense<[0.3125, -0.625, 0.5625]> : tensor<3xf32> loc("fc_b")
  %wm = amct.const dense<[[1.0, 2.0, 4.0], [-1.0, -2.0, -4.0]]> : tensor<2x3xf32> loc("mm_w")
  %aq = amct.fake_quant %a {offset = array<i64: 10>, scale = array<f32: 0.5>} : tensor<3x2xf32>
  %wq = amct.fake_quant %w {axis = 1 : i64, offset = array<i64: 0, 0, 0>, scale = array<f32: 0.25, 0.5, 0.75>} : tensor<2x3xf32>
  %g = amct.Gemm %aq, %wq, %b : (tensor<3x2xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32> loc("fc")
  %aq2 = amct.fake_quant %a {offset = array<i64: -128>, scale = array<f32: 0.125>} : tensor<3x2xf32>
  %wmq = amct.fake_quant %wm {axis = 1 : i64, offset = array<i64: 0, 0, 0>, scale = array<f32: 0.0625, 0.125, 0.25>} : tensor<2x3xf32>
  %m = amct.MatMul %aq2, %wmq : (tensor<3x2xf32>, tensor<2x3xf32>) -> tensor<3x3xf32> loc("mm")
  return %g, %m : tensor<3x3xf32>, tensor<3x3xf32>
}

// -----

// Gemm with transB = 1 (B is [N, K], scale_w along axis 0):
//   w = [[0.5, -0.5], [0.25, 1.0]] / [0.5, 0.25] -> [[1, -1], [1, 4]],
//   deployed as AMCT does (gemm_transb_optimize_pass.py): transposed to
//   [K, N] = [[1, 1], [-1, 4]] with transB = 0
//   deq = 0.1f * [0.5, 0.25] = [0.0500000007f, 0.0250000004f] = [0x3D4CCCCD, 0x3CCCCCCD] = [1028443341, 1020054733]
//   b = [1.0, -1.0] / deq = [19.99999970, -39.99999940] -> [20, -40]
// CHECK-LABEL: func.func @gemm_trans_b
// CHECK-DAG: %[[Q:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = 0.000000e+00 : f32, scale = 1.000000e+01 : f32}
// CHECK-DAG: %[[W:.*]] = amct.const dense<{{\[\[}}1, 1], [-1, 4]]> : tensor<2x2xi8>
// CHECK-DAG: %[[B:.*]] = amct.const dense<[20, -40]> : tensor<2xi32>
// CHECK: %[[Y:.*]] = amct.Gemm %[[Q]], %[[W]], %[[B]] : (tensor<3x2xi8>, tensor<2x2xi8>, tensor<2xi32>) -> tensor<3x2xi32>
// CHECK-NEXT: %[[D:.*]] = amct.const dense<[1028443341, 1020054733]> : tensor<2xui64>
// CHECK-NEXT: ascend.AscendDequant %[[Y]], %[[D]]
func.func @gemm_trans_b(%a: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = amct.const dense<[[0.5, -0.5], [0.25, 1.0]]> : tensor<2x2xf32>
  %b = amct.const dense<[1.0, -1.0]> : tensor<2xf32>
  %aq = amct.fake_quant %a {offset = array<i64: 0>, scale = array<f32: 0.1>} : tensor<3x2xf32>
  %wq = amct.fake_quant %w {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.5, 0.25>} : tensor<2x2xf32>
  %g = amct.Gemm %aq, %wq, %b {transB = 1 : i64} : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32> loc("fc")
  return %g : tensor<3x2xf32>
}

// -----

// The bias as fold-observers leaves it, a 32-bit fake_quant with the
// accumulator scales: its int32 values are the deploy model's bias.
// b = [0.5, -0.25] / [0.0005, 0.001] = [1000, -250].
// CHECK-LABEL: func.func @fake_quantized_bias
// CHECK-NOT: amct.fake_quant
// CHECK-DAG: %[[B:.*]] = amct.const dense<[1000, -250]> : tensor<2xi32>
// CHECK: amct.Conv %{{.*}}, %{{.*}}, %[[B]] {offset_x = -3 : i64} : (tensor<1x1x4x4xi8>, tensor<2x1x1x1xi8>, tensor<2xi32>) -> tensor<1x2x4x4xi32>
// CHECK-NOT: tensor<2xf32>
func.func @fake_quantized_bias(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %b = amct.const dense<[0.5, -0.25]> : tensor<2xf32>
  %xq = amct.fake_quant %x {offset = array<i64: -3>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32>
  %wq = amct.fake_quant %w {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32>
  %bq = amct.fake_quant %b {axis = 0 : i64, num_bits = 32 : i64, offset = array<i64: 0, 0>, scale = array<f32: 5.000000e-04, 1.000000e-03>} : tensor<2xf32>
  %c = amct.Conv %xq, %wq, %bq : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// N-d MatMul + Add(bias): the bias joins the int32 accumulator in an int32
// Add, AscendDequant comes after the Add. scale_d = 0.5, scale_w = 0.25:
// w = 0.5 / 0.25 = 2, accumulator scale 0.125 = 0x3E000000 = 1040187392,
// b = [1, 2, 3] / 0.125 = [8, 16, 24].
// CHECK-LABEL: func.func @matmul_add_bias
// CHECK-DAG: %[[Q:.*]] = ascend.AscendQuant %arg0 {dst_type = "INT8", offset = 0.000000e+00 : f32, scale = 2.000000e+00 : f32} : (tensor<2x3x4xf32>) -> tensor<2x3x4xi8>
// CHECK-DAG: %[[W:.*]] = amct.const {{.*}} : tensor<4x3xi8>
// CHECK-DAG: %[[B:.*]] = amct.const dense<{{\[\[}}8, 16, 24]]> : tensor<1x3xi32>
// CHECK: %[[M:.*]] = amct.MatMul %[[Q]], %[[W]] : (tensor<2x3x4xi8>, tensor<4x3xi8>) -> tensor<2x3x3xi32>
// CHECK-NEXT: %[[D:.*]] = amct.const dense<1040187392> : tensor<1xui64>
// CHECK-NEXT: %[[A:.*]] = amct.Add %[[B]], %[[M]] : (tensor<1x3xi32>, tensor<2x3x3xi32>) -> tensor<2x3x3xi32>
// CHECK-NEXT: %[[R:.*]] = ascend.AscendDequant %[[A]], %[[D]] {dtype = 0 : i64} : (tensor<2x3x3xi32>, tensor<1xui64>) -> tensor<2x3x3xf32>
// CHECK-NEXT: return %[[R]]
func.func @matmul_add_bias(%a: tensor<2x3x4xf32>) -> tensor<2x3x3xf32> {
  %w = amct.const dense<0.5> : tensor<4x3xf32>
  %b = amct.const dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
  %aq = amct.fake_quant %a {offset = array<i64: 0>, scale = array<f32: 0.5>} : tensor<2x3x4xf32>
  %wq = amct.fake_quant %w {offset = array<i64: 0>, scale = array<f32: 0.25>} : tensor<4x3xf32>
  %bq = amct.fake_quant %b {num_bits = 32 : i64, offset = array<i64: 0>, scale = array<f32: 0.125>} : tensor<1x3xf32>
  %m = amct.MatMul %aq, %wq : (tensor<2x3x4xf32>, tensor<4x3xf32>) -> tensor<2x3x3xf32> loc("mm")
  %y = amct.Add %bq, %m : (tensor<1x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  return %y : tensor<2x3x3xf32>
}
