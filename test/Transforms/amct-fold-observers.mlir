// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-fold-observers{record=%S/Inputs/fold-record.txt}))' | FileCheck %s

// Each observer becomes amct.fake_quant with its layer's scale_d/offset_d
// from the record (Inputs/fold-record.txt); the layer's weight gets an
// amct.fake_quant with scale_w/offset_w, per channel along the weight's
// output-channel axis when there is one value per channel, per tensor (no
// axis) when there is one value.

// Conv: W is [C_out, C_in/group, kH, kW], channels on axis 0.
// conv1: scale_d 0.05, offset_d -3, scale_w [0.01, 0.02], offset_w [0, 0].
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x1x4x4xf32>)
// CHECK: %[[W:.*]] = amct.const dense<{{\[\[\[\[}}1.000000e-01]]], {{\[\[\[}}-2.000000e-01]]]]> : tensor<2x1x1x1xf32>
// CHECK-NOT: amct.observer
// CHECK: %[[XQ:.*]] = amct.fake_quant %[[X]] {offset = array<i64: -3>, scale = array<f32: 5.000000e-02>} : tensor<1x1x4x4xf32>
// CHECK-NEXT: %[[WQ:.*]] = amct.fake_quant %[[W]] {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.00999999977, 2.000000e-02>} : tensor<2x1x1x1xf32>
// CHECK-NEXT: %[[Y:.*]] = amct.Conv %[[XQ]], %[[WQ]], %{{.*}} :
// CHECK-NOT: amct.observer
// CHECK: return %[[Y]]
func.func @conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32> loc("w")
  %o = amct.observer %x {layer = "conv1", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x1x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv1")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// ConvTranspose: W is [C_in, C_out/group, kH, kW], channels on axis 1.
// CHECK-LABEL: func.func @conv_transpose
// CHECK: %[[W:.*]] = amct.const dense<5.000000e-01> : tensor<2x3x1x1xf32>
// CHECK: %[[XQ:.*]] = amct.fake_quant %arg0 {offset = array<i64: 0>, scale = array<f32: 2.500000e-01>} : tensor<1x2x4x4xf32>
// CHECK-NEXT: %[[WQ:.*]] = amct.fake_quant %[[W]] {axis = 1 : i64, offset = array<i64: 0, 0, 0>, scale = array<f32: 5.000000e-01, 1.250000e-01, 6.250000e-02>} : tensor<2x3x1x1xf32>
// CHECK-NEXT: amct.ConvTranspose %[[XQ]], %[[WQ]], %{{.*}} :
func.func @conv_transpose(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x3x1x1xf32>
  %o = amct.observer %x {layer = "deconv", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.ConvTranspose %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x3x1x1xf32>, none) -> tensor<1x3x4x4xf32> loc("deconv")
  return %c : tensor<1x3x4x4xf32>
}

// -----

// Gemm with transB = 1: B is [N, K], channels on axis 0.
// CHECK-LABEL: func.func @gemm_trans_b
// CHECK: %[[W:.*]] = amct.const dense<5.000000e-01> : tensor<2x4xf32>
// CHECK: %[[XQ:.*]] = amct.fake_quant %arg0 {offset = array<i64: 10>, scale = array<f32: 5.000000e-01>} : tensor<3x4xf32>
// CHECK-NEXT: %[[WQ:.*]] = amct.fake_quant %[[W]] {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 2.500000e-01, 5.000000e-01>} : tensor<2x4xf32>
// CHECK-NEXT: amct.Gemm %[[XQ]], %[[WQ]], %{{.*}} {transB = 1 : i64}
func.func @gemm_trans_b(%a: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x4xf32>
  %o = amct.observer %a {layer = "fc_t", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<3x4xf32>
  %g = amct.Gemm %o, %w, %n {transB = 1 : i64} : (tensor<3x4xf32>, tensor<2x4xf32>, none) -> tensor<3x2xf32> loc("fc_t")
  return %g : tensor<3x2xf32>
}

// -----

// Gemm with transB = 0: B is [K, N], channels on axis 1.
// CHECK-LABEL: func.func @gemm_no_trans_b
// CHECK: %[[W:.*]] = amct.const dense<5.000000e-01> : tensor<4x3xf32>
// CHECK: %[[XQ:.*]] = amct.fake_quant %arg0 {offset = array<i64: 10>, scale = array<f32: 5.000000e-01>} : tensor<3x4xf32>
// CHECK-NEXT: %[[WQ:.*]] = amct.fake_quant %[[W]] {axis = 1 : i64, offset = array<i64: 0, 0, 0>, scale = array<f32: 2.500000e-01, 5.000000e-01, 7.500000e-01>} : tensor<4x3xf32>
// CHECK-NEXT: amct.Gemm %[[XQ]], %[[WQ]], %{{.*}} :
func.func @gemm_no_trans_b(%a: tensor<3x4xf32>) -> tensor<3x3xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<4x3xf32>
  %o = amct.observer %a {layer = "fc_n", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<3x4xf32>
  %g = amct.Gemm %o, %w, %n : (tensor<3x4xf32>, tensor<4x3xf32>, none) -> tensor<3x3xf32> loc("fc_n")
  return %g : tensor<3x3xf32>
}

// -----

// MatMul by a constant [K, N]: channels on axis 1.
// CHECK-LABEL: func.func @matmul
// CHECK: %[[W:.*]] = amct.const dense<5.000000e-01> : tensor<4x3xf32>
// CHECK: %[[XQ:.*]] = amct.fake_quant %arg0 {offset = array<i64: -128>, scale = array<f32: 1.250000e-01>} : tensor<3x4xf32>
// CHECK-NEXT: %[[WQ:.*]] = amct.fake_quant %[[W]] {axis = 1 : i64, offset = array<i64: 0, 0, 0>, scale = array<f32: 1.000000e+00, 2.000000e+00, 4.000000e+00>} : tensor<4x3xf32>
// CHECK-NEXT: amct.MatMul %[[XQ]], %[[WQ]] :
func.func @matmul(%a: tensor<3x4xf32>) -> tensor<3x3xf32> {
  %w = amct.const dense<0.5> : tensor<4x3xf32>
  %o = amct.observer %a {layer = "mm", method = #amct.hfmg<num_bits = 8, asymmetric = true, num_of_bins = 4096>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<3x4xf32>
  %m = amct.MatMul %o, %w : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32> loc("mm")
  return %m : tensor<3x3xf32>
}

// -----

// One scale_w: per tensor, no axis.
// CHECK-LABEL: func.func @per_tensor
// CHECK: %[[W:.*]] = amct.const dense<5.000000e-01> : tensor<2x2x1x1xf32>
// CHECK: %[[XQ:.*]] = amct.fake_quant %arg0 {offset = array<i64: 0>, scale = array<f32: 5.000000e-02>} : tensor<1x2x4x4xf32>
// CHECK-NEXT: %[[WQ:.*]] = amct.fake_quant %[[W]] {offset = array<i64: 0>, scale = array<f32: 3.000000e-02>} : tensor<2x2x1x1xf32>
// CHECK-NEXT: amct.Conv %[[XQ]], %[[WQ]], %{{.*}} :
func.func @per_tensor(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %n = amct.none
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_pt", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_pt")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// AvgPool2d has no weight: only its input is fake-quantized.
// CHECK-LABEL: func.func @avg_pool
// CHECK-NEXT: %[[XQ:.*]] = amct.fake_quant %arg0 {offset = array<i64: 5>, scale = array<f32: 1.000000e-01>} : tensor<1x2x4x4xf32>
// CHECK-NEXT: amct.AveragePool %[[XQ]] {kernel_shape
// CHECK-NOT: amct.fake_quant
func.func @avg_pool(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %o = amct.observer %x {layer = "pool", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>} : tensor<1x2x4x4xf32>
  %p = amct.AveragePool %o {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> loc("pool")
  return %p : tensor<1x2x2x2xf32>
}

// -----

// A layer without an observer (not quantized by the config) keeps its float
// weight, even when the record has an entry for it; the observed layer next
// to it is folded.
// CHECK-LABEL: func.func @unobserved_layer
// CHECK: %[[W:.*]] = amct.const
// CHECK-NOT: amct.fake_quant
// CHECK: amct.Conv %arg0, %[[W]], %{{.*}} :
// CHECK: %[[XQ:.*]] = amct.fake_quant %arg0 {offset = array<i64: 0>, scale = array<f32: 5.000000e-02>}
// CHECK-NEXT: %[[WQ:.*]] = amct.fake_quant %{{.*}} {offset = array<i64: 0>, scale = array<f32: 3.000000e-02>}
// CHECK-NEXT: amct.Conv %[[XQ]], %[[WQ]], %{{.*}} :
// CHECK-NOT: amct.fake_quant
func.func @unobserved_layer(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %n = amct.none
  %w1 = amct.const dense<0.25> : tensor<2x2x1x1xf32>
  %c1 = amct.Conv %x, %w1, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv1")
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %o = amct.observer %x {layer = "conv_pt", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv_pt")
  return %c1, %c : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// The bias becomes the int32 the deploy model adds to its accumulator: a
// 32-bit fake_quant with offset 0 and scale scale_d * scale_w[c] (float
// products): conv1 0.05 * [0.01, 0.02].
// CHECK-LABEL: func.func @conv_bias
// CHECK: %[[B:.*]] = amct.const dense<[5.000000e-01, -2.500000e-01]> : tensor<2xf32>
// CHECK: %[[WQ:.*]] = amct.fake_quant %{{.*}} {axis
// CHECK-NEXT: %[[BQ:.*]] = amct.fake_quant %[[B]] {axis = 0 : i64, num_bits = 32 : i64, offset = array<i64: 0, 0>, scale = array<f32: 5.000000e-04, 1.000000e-03>} : tensor<2xf32>
// CHECK-NEXT: amct.Conv %{{.*}}, %[[WQ]], %[[BQ]] :
func.func @conv_bias(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32>
  %b = amct.const dense<[0.5, -0.25]> : tensor<2xf32>
  %o = amct.observer %x {layer = "conv1", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x1x4x4xf32>
  %c = amct.Conv %o, %w, %b : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv1")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// One scale_w: one accumulator scale, 0.05 * 0.03, no axis.
// CHECK-LABEL: func.func @per_tensor_bias
// CHECK: amct.fake_quant %{{.*}} {num_bits = 32 : i64, offset = array<i64: 0>, scale = array<f32: 1.500000e-03>} : tensor<2xf32>
func.func @per_tensor_bias(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %b = amct.const dense<[0.5, -0.25]> : tensor<2xf32>
  %o = amct.observer %x {layer = "conv_pt", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<1x2x4x4xf32>
  %c = amct.Conv %o, %w, %b : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc("conv_pt")
  return %c : tensor<1x2x4x4xf32>
}

// -----

// Gemm's C of one value with per-channel weight scales is broadcast to one
// value per channel first: 0.5 * [0.25, 0.5, 0.75].
// CHECK-LABEL: func.func @gemm_scalar_bias
// CHECK: %[[C:.*]] = amct.const dense<1.000000e+00> : tensor<3xf32>
// CHECK-NEXT: %[[CQ:.*]] = amct.fake_quant %[[C]] {axis = 0 : i64, num_bits = 32 : i64, offset = array<i64: 0, 0, 0>, scale = array<f32: 1.250000e-01, 2.500000e-01, 3.750000e-01>} : tensor<3xf32>
// CHECK-NEXT: amct.Gemm %{{.*}}, %{{.*}}, %[[CQ]] :
func.func @gemm_scalar_bias(%a: tensor<3x4xf32>) -> tensor<3x3xf32> {
  %w = amct.const dense<0.5> : tensor<4x3xf32>
  %c = amct.const dense<1.0> : tensor<1xf32>
  %o = amct.observer %a {layer = "fc_n", method = #amct.ifmr<num_bits = 8, asymmetric = true, max_percentile = 0.999999, min_percentile = 0.999999, search_range_start = 0.7, search_range_end = 1.3, search_step = 0.01>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<3x4xf32>
  %g = amct.Gemm %o, %w, %c : (tensor<3x4xf32>, tensor<4x3xf32>, tensor<1xf32>) -> tensor<3x3xf32> loc("fc_n")
  return %g : tensor<3x3xf32>
}

// -----

// N-d MatMul + Add of one constant per output channel (an N-d Linear's
// bias): the Add's constant is the bias, 0.125 * [1, 2, 4], along its last
// axis.
// CHECK-LABEL: func.func @matmul_add_bias
// CHECK: %[[B:.*]] = amct.const dense<{{\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00]]> : tensor<1x3xf32>
// CHECK: %[[M:.*]] = amct.MatMul
// CHECK-NEXT: %[[BQ:.*]] = amct.fake_quant %[[B]] {axis = 1 : i64, num_bits = 32 : i64, offset = array<i64: 0, 0, 0>, scale = array<f32: 1.250000e-01, 2.500000e-01, 5.000000e-01>} : tensor<1x3xf32>
// CHECK-NEXT: amct.Add %[[BQ]], %[[M]] :
func.func @matmul_add_bias(%a: tensor<2x3x4xf32>) -> tensor<2x3x3xf32> {
  %w = amct.const dense<0.5> : tensor<4x3xf32>
  %b = amct.const dense<[[1.0, 2.0, 3.0]]> : tensor<1x3xf32>
  %o = amct.observer %a {layer = "mm", method = #amct.hfmg<num_bits = 8, asymmetric = true, num_of_bins = 4096>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<2x3x4xf32>
  %m = amct.MatMul %o, %w : (tensor<2x3x4xf32>, tensor<4x3xf32>) -> tensor<2x3x3xf32> loc("mm")
  %y = amct.Add %b, %m : (tensor<1x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  return %y : tensor<2x3x3xf32>
}

// -----

// An Add that is not one value per output channel (here [3, 3], varying
// along T) is not a bias: it stays float.
// CHECK-LABEL: func.func @matmul_add_not_bias
// CHECK-COUNT-2: amct.fake_quant
// CHECK-NOT: amct.fake_quant
// CHECK: amct.Add %{{.*}}, %{{.*}} : (tensor<2x3x3xf32>, tensor<3x3xf32>)
func.func @matmul_add_not_bias(%a: tensor<2x3x4xf32>) -> tensor<2x3x3xf32> {
  %w = amct.const dense<0.5> : tensor<4x3xf32>
  %b = amct.const dense<1.0> : tensor<3x3xf32>
  %o = amct.observer %a {layer = "mm", method = #amct.hfmg<num_bits = 8, asymmetric = true, num_of_bins = 4096>, weights = #amct.arq<num_bits = 8, channel_wise = true>} : tensor<2x3x4xf32>
  %m = amct.MatMul %o, %w : (tensor<2x3x4xf32>, tensor<4x3xf32>) -> tensor<2x3x3xf32> loc("mm")
  %y = amct.Add %m, %b : (tensor<2x3x3xf32>, tensor<3x3xf32>) -> tensor<2x3x3xf32>
  return %y : tensor<2x3x3xf32>
}
