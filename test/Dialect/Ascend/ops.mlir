// RUN: amct-opt %s | amct-opt --strip-names | FileCheck %s

// CHECK-LABEL: func.func @deploy
func.func @deploy(%x: tensor<1x16x8x8xf16>, %acc: tensor<1x16x8x8xi32>, %s: tensor<16xui64>, %w: tensor<16x16x3x3xi8>, %o: tensor<16x16x3x3xi8>) {
  // CHECK: ascend.AscendQuant %{{.*}} {dst_type = "INT8", offset = -3.000000e+00 : f32, scale = 1.250000e+01 : f32}
  %q = ascend.AscendQuant %x {scale = 12.5 : f32, dst_type = "INT8", offset = -3.0 : f32} : (tensor<1x16x8x8xf16>) -> tensor<1x16x8x8xi8>
  // CHECK: ascend.AscendDequant %{{.*}}, %{{.*}} {dtype = 1 : i64, relu_flag = true}
  %d = ascend.AscendDequant %acc, %s {dtype = 1 : i64, relu_flag = true} : (tensor<1x16x8x8xi32>, tensor<16xui64>) -> tensor<1x16x8x8xf16>
  // CHECK: ascend.AscendAntiQuant
  %a = ascend.AscendAntiQuant %q {scale = 0.08 : f32, dst_type = "INT8", offset = 3.0 : f32, dtype = 1 : i64} : (tensor<1x16x8x8xi8>) -> tensor<1x16x8x8xf16>
  // CHECK: ascend.AscendWeightQuant %{{.*}}, %{{.*}} {dst_type = "INT4"} {{.*}} -> tensor<16x16x3x3xi4>
  %wq = ascend.AscendWeightQuant %w, %o {dst_type = "INT4"} : (tensor<16x16x3x3xi8>, tensor<16x16x3x3xi8>) -> tensor<16x16x3x3xi4>
  return
}

// CHECK-LABEL: func.func @weight_quant_matmul
func.func @weight_quant_matmul(%x: tensor<2x5x128xf32>, %w: tensor<64x32xi8>, %s: tensor<4x32xf32>, %o: tensor<4x32xf32>, %b: tensor<32xf32>, %w8: tensor<128x32xi8>, %sc: tensor<32xf32>, %n: none) {
  // CHECK: ascend.WeightQuantBatchMatmulV2 {{.*}} {antiquant_group_size = 32 : i64, weight_dtype = "INT4"} : (tensor<2x5x128xf32>, tensor<64x32xi8>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<32xf32>) -> tensor<2x5x32xf32>
  %y = ascend.WeightQuantBatchMatmulV2 %x, %w, %s, %o, %b {antiquant_group_size = 32 : i64, weight_dtype = "INT4"} : (tensor<2x5x128xf32>, tensor<64x32xi8>, tensor<4x32xf32>, tensor<4x32xf32>, tensor<32xf32>) -> tensor<2x5x32xf32>
  // Per channel, int8, no offset or bias: the defaults are not printed.
  // CHECK: ascend.WeightQuantBatchMatmulV2 {{%[^ ]+}}, {{%[^ ]+}}, {{%[^ ]+}}, {{%[^ ]+}}, {{%[^ ]+}} : (tensor<2x5x128xf32>, tensor<128x32xi8>, tensor<32xf32>, none, none) -> tensor<2x5x32xf32>
  %z = ascend.WeightQuantBatchMatmulV2 %x, %w8, %sc, %n, %n : (tensor<2x5x128xf32>, tensor<128x32xi8>, tensor<32xf32>, none, none) -> tensor<2x5x32xf32>
  return
}

// CHECK-LABEL: func.func @per_token
func.func @per_token(%x: tensor<2x5x128xf32>, %w: tensor<128x32xi8>, %s: tensor<32xf32>, %b: tensor<32xf32>, %n: none) {
  // CHECK: ascend.DynamicQuant {{.*}} : (tensor<2x5x128xf32>) -> (tensor<2x5x128xi8>, tensor<2x5xf32>)
  %y, %ts = ascend.DynamicQuant %x : (tensor<2x5x128xf32>) -> (tensor<2x5x128xi8>, tensor<2x5xf32>)
  // CHECK: ascend.DynamicQuantV2 {{.*}} : (tensor<2x5x128xf32>) -> (tensor<2x5x128xi8>, tensor<2x5xf32>, tensor<2x5xf32>)
  %y2, %ts2, %to2 = ascend.DynamicQuantV2 %x : (tensor<2x5x128xf32>) -> (tensor<2x5x128xi8>, tensor<2x5xf32>, tensor<2x5xf32>)
  // CHECK: ascend.QuantBatchMatmulV3 {{.*}} : (tensor<2x5x128xi8>, tensor<128x32xi8>, tensor<32xf32>, tensor<2x5xf32>, none, tensor<32xf32>) -> tensor<2x5x32xf32>
  %m = ascend.QuantBatchMatmulV3 %y, %w, %s, %ts, %n, %b : (tensor<2x5x128xi8>, tensor<128x32xi8>, tensor<32xf32>, tensor<2x5xf32>, none, tensor<32xf32>) -> tensor<2x5x32xf32>
  // CHECK: ascend.QuantBatchMatmulV3 {{.*}} : (tensor<2x5x128xi8>, tensor<128x32xi8>, tensor<32xf32>, tensor<2x5xf32>, tensor<2x5xf32>, none) -> tensor<2x5x32xf32>
  %m2 = ascend.QuantBatchMatmulV3 %y2, %w, %s, %ts2, %to2, %n : (tensor<2x5x128xi8>, tensor<128x32xi8>, tensor<32xf32>, tensor<2x5xf32>, tensor<2x5xf32>, none) -> tensor<2x5x32xf32>
  return
}
