// Input of export-fake-quant.test: a 32-bit fake_quant on an activation,
// which has no ONNX form (int32 QuantizeLinear is not in opset 13).
module attributes {amct.ir_version = 8 : i64, amct.opset_import = [["", 13]]} {
  func.func @main(%x: tensor<2xf32> {amct.name = "x"}) -> (tensor<2xf32> {amct.name = "y"}) {
    %q = amct.fake_quant %x {num_bits = 32 : i64, offset = array<i64: 0>, scale = array<f32: 0.5>} : tensor<2xf32>
    return %q : tensor<2xf32>
  }
}
