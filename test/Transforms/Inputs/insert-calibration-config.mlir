// Input of the config RUN lines of ../amct-insert-calibration.mlir: four
// quantizable layers, conv1, conv2, conv3 (Conv2d) and fc (Linear).
func.func @configured(%x: tensor<1x2x4x4xf32>, %a: tensor<3x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<3x2xf32>) {
  %n = amct.none
  %w1 = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c1 = amct.Conv %x, %w1, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv1")
  %w2 = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c2 = amct.Conv %x, %w2, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv2")
  %w3 = amct.const dense<0.5> : tensor<2x2x1x1xf32>
  %c3 = amct.Conv %x, %w3, %n : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, none) -> tensor<1x2x4x4xf32> loc("conv3")
  %wg = amct.const dense<0.5> : tensor<4x2xf32>
  %g = amct.Gemm %a, %wg, %n : (tensor<3x4xf32>, tensor<4x2xf32>, none) -> tensor<3x2xf32> loc("fc")
  return %c1, %c2, %c3, %g : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<3x2xf32>
}
