// RUN: amct-opt --strip-names %s -split-input-file --pass-pipeline='builtin.module(func.func(amct-convert))' | FileCheck %s

// An 8-bit fake_quant no layer reads as its input (a KV-cache projection's
// output) becomes AscendQuant (1 / scale, offset) -> AscendAntiQuant
// (scale, -offset) per tensor, AscendQuantV2 -> AscendAntiQuantV2 with
// tensors of those per channel (last axis).

// CHECK-LABEL: func.func @per_tensor
// CHECK: %[[Q:.*]] = ascend.AscendQuant %{{.*}} {dst_type = "INT8", offset = 3.000000e+00 : f32, scale = 4.000000e+00 : f32} : (tensor<2x3x4xf32>) -> tensor<2x3x4xi8>
// CHECK: %[[A:.*]] = ascend.AscendAntiQuant %[[Q]] {dst_type = "INT8", offset = -3.000000e+00 : f32, scale = 2.500000e-01 : f32} : (tensor<2x3x4xi8>) -> tensor<2x3x4xf32>
// CHECK: return %[[A]]
func.func @per_tensor(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %y = amct.fake_quant %x {scale = array<f32: 0.25>, offset = array<i64: 3>} : tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @per_channel
// CHECK-DAG: %[[QS:.*]] = amct.const dense<[2.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[QO:.*]] = amct.const dense<[1.000000e+00, -2.000000e+00]> : tensor<2xf32>
// CHECK: %[[Q:.*]] = ascend.AscendQuantV2 %{{.*}}, %[[QS]], %[[QO]] : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xi8>
// CHECK-DAG: %[[AS:.*]] = amct.const dense<[5.000000e-01, 2.500000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[AO:.*]] = amct.const dense<[-1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: ascend.AscendAntiQuantV2 %[[Q]], %[[AS]], %[[AO]] : (tensor<3x2xi8>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
func.func @per_channel(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %y = amct.fake_quant %x {scale = array<f32: 0.5, 0.25>, offset = array<i64: 1, -2>, axis = 1 : i64} : tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
