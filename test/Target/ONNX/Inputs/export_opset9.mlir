// Input of export-attrs.test: an opset 9 CNN whose typed ops have only the
// attributes written here. Several of their default-valued attributes do not
// exist at opset 9 (BatchNormalization training_mode, MaxPool/AveragePool
// ceil_mode, ...), so the exporter must not write any it was not given.
module attributes {amct.ir_version = 4 : i64, amct.opset_import = [["", 9]]} {
  func.func @main(%x: tensor<1x3x8x8xf32> {amct.name = "input"}) -> (tensor<1x10xf32> {amct.name = "logits"}, tensor<1x4x4x4xf32> {amct.name = "avg"}) {
    %w = amct.const dense<0.5> : tensor<4x3x3x3xf32> loc("conv.weight")
    %b = amct.const dense<0.25> : tensor<4xf32> loc("conv.bias")
    %c = amct.Conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32> loc(fused<["conv_out"]>["conv"])
    %s = amct.const dense<1.0> : tensor<4xf32> loc("bn.scale")
    %bn = amct.BatchNormalization %c, %s, %b, %b, %s : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32> loc(fused<["bn_out"]>["bn"])
    %r = amct.Relu %bn : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> loc(fused<["relu_out"]>["relu"])
    %p = amct.MaxPool %r {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> loc(fused<["pool_out"]>["pool"])
    %a = amct.AveragePool %r {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> loc(fused<["avg"]>["avgpool"])
    %f = amct.Flatten %p : (tensor<1x4x4x4xf32>) -> tensor<1x64xf32> loc(fused<["flat"]>["flatten"])
    %fw = amct.const dense<0.1> : tensor<10x64xf32> loc("fc.weight")
    %fb = amct.const dense<0.0> : tensor<10xf32> loc("fc.bias")
    %y = amct.Gemm %f, %fw, %fb {transB = 1 : i64} : (tensor<1x64xf32>, tensor<10x64xf32>, tensor<10xf32>) -> tensor<1x10xf32> loc(fused<["logits"]>["fc"])
    return %y, %a : tensor<1x10xf32>, tensor<1x4x4x4xf32>
  }
}
