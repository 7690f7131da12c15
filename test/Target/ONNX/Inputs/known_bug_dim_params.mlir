// Input of known-bugs.txt, section 4: the type says the batch dim is 1, a
// stale amct.dim_params says it is symbolic. The export should follow the
// type.
module {
  func.func @main(%x: tensor<1x3xf32> {amct.name = "X", amct.dim_params = ["batch", ""]}) -> (tensor<1x3xf32> {amct.name = "Y"}) {
    %r = amct.Relu %x : (tensor<1x3xf32>) -> tensor<1x3xf32> loc(fused<["Y"]>["relu"])
    return %r : tensor<1x3xf32>
  }
}
