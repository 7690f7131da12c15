// Input of export-ascend.test: the four Ascend deploy ops, exported as ONNX
// nodes of the same op type in the default domain.
module attributes {amct.ir_version = 8 : i64, amct.opset_import = [["", 13]]} {
  func.func @main(%x: tensor<1x16x8x8xf16> {amct.name = "x"}, %acc: tensor<1x16x8x8xi32> {amct.name = "acc"}) -> (tensor<1x16x8x8xi8> {amct.name = "q"}, tensor<1x16x8x8xf16> {amct.name = "dq"}, tensor<1x16x8x8xf16> {amct.name = "aq"}, tensor<16x16x3x3xi8> {amct.name = "wq"}) {
    %s = amct.const dense<1065353216> : tensor<16xui64> loc("deq_scale")
    %w = amct.const dense<3> : tensor<16x16x3x3xi8> loc("weight")
    %o = amct.const dense<1> : tensor<16x16x3x3xi8> loc("offset_w")
    %q = ascend.AscendQuant %x {scale = 12.5 : f32, offset = -3.0 : f32, dst_type = "INT8"} : (tensor<1x16x8x8xf16>) -> tensor<1x16x8x8xi8> loc(fused<["q"]>["quant"])
    %d = ascend.AscendDequant %acc, %s {dtype = 1 : i64, relu_flag = true} : (tensor<1x16x8x8xi32>, tensor<16xui64>) -> tensor<1x16x8x8xf16> loc(fused<["dq"]>["dequant"])
    %a = ascend.AscendAntiQuant %q {scale = 0.5 : f32, offset = 3.0 : f32, dst_type = "INT8", dtype = 1 : i64, sqrt_mode = true} : (tensor<1x16x8x8xi8>) -> tensor<1x16x8x8xf16> loc(fused<["aq"]>["antiquant"])
    %wq = ascend.AscendWeightQuant %w, %o : (tensor<16x16x3x3xi8>, tensor<16x16x3x3xi8>) -> tensor<16x16x3x3xi8> loc(fused<["wq"]>["weight_quant"])
    return %q, %d, %a, %wq : tensor<1x16x8x8xi8>, tensor<1x16x8x8xf16>, tensor<1x16x8x8xf16>, tensor<16x16x3x3xi8>
  }
}
