// Input of export-fake-quant.test: a fake-quantized Conv as fold-observers
// leaves it: activation (8 bits, per tensor), weight (8 bits, per channel)
// and bias (32 bits, the accumulator scales 0.05 * [0.01, 0.02]).
module attributes {amct.ir_version = 8 : i64, amct.opset_import = [["", 13]]} {
  func.func @main(%x: tensor<1x1x4x4xf32> {amct.name = "x"}) -> (tensor<1x2x4x4xf32> {amct.name = "y"}) {
    %w = amct.const dense<[[[[0.1]]], [[[-0.2]]]]> : tensor<2x1x1x1xf32> loc("w")
    %b = amct.const dense<[0.5, -0.25]> : tensor<2xf32> loc("b")
    %xq = amct.fake_quant %x {offset = array<i64: -3>, scale = array<f32: 0.05>} : tensor<1x1x4x4xf32> loc("x_quant")
    %wq = amct.fake_quant %w {axis = 0 : i64, offset = array<i64: 0, 0>, scale = array<f32: 0.01, 0.02>} : tensor<2x1x1x1xf32> loc("w_quant")
    %bq = amct.fake_quant %b {axis = 0 : i64, num_bits = 32 : i64, offset = array<i64: 0, 0>, scale = array<f32: 5.000000e-04, 1.000000e-03>} : tensor<2xf32> loc("b_quant")
    %c = amct.Conv %xq, %wq, %bq : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32> loc(fused<["y"]>["conv"])
    return %c : tensor<1x2x4x4xf32>
  }
}
