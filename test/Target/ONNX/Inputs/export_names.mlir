// Input of export-names.test: graph outputs that are a graph input, an
// initializer, the same value twice, a value with a recorded name that
// another output claims, and a value without any name.
module attributes {amct.ir_version = 8 : i64, amct.opset_import = [["", 13]]} {
  func.func @main(%x: tensor<2x3xf32> {amct.name = "X"}, %z: tensor<2x3xf32> {amct.name = "Z", amct.dim_params = ["batch", ""]}) -> (tensor<2x3xf32> {amct.name = "passthrough"}, tensor<3xf32> {amct.name = "weights_out"}, tensor<2x3xf32> {amct.name = "Y"}, tensor<2x3xf32> {amct.name = "Y2"}, tensor<2x3xf32>, tensor<2x3xf32> {amct.name = "S", amct.dim_params = ["batch", ""]}) {
    %w = amct.const dense<[1.0, 2.0, 3.0]> : tensor<3xf32> loc("W")
    %a = amct.Add %x, %w : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32> loc(fused<["sum"]>["add"])
    %r = amct.Relu %a : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("relu")
    %s = amct.Sigmoid %r : (tensor<2x3xf32>) -> tensor<2x3xf32>
    %t = amct.Tanh %z : (tensor<2x3xf32>) -> tensor<2x3xf32> loc(fused<["Y"]>["tanh"])
    return %x, %w, %r, %r, %s, %t : tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
  }
}
