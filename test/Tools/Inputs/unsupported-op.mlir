// A model with a node the executor has no kernel for (used by amct-run.test).
func.func @main(%x: tensor<8x1x16x16xf32> {amct.name = "x"}) -> (tensor<8x1x16x16xf32> {amct.name = "y"}) {
  %y = amct.node "Mystery" domain "com.example"(%x) {} : (tensor<8x1x16x16xf32>) -> tensor<8x1x16x16xf32> loc("mystery")
  return %y : tensor<8x1x16x16xf32>
}
