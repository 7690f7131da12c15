//===- Passes.td - amct passes ------------------------------*- tablegen -*-===//
//
// The quantization pipeline, one pass per step, each runnable alone on an
// .mlir or .onnx file with amct-opt.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TRANSFORMS_PASSES_TD
#define AMCT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmctFuse : Pass<"amct-fuse", "mlir::func::FuncOp"> {
  let summary = "Fold BatchNormalization into the preceding Conv / ConvTranspose; "
                "MatMul + Add into Gemm where legal";
  let description = [{
    Conv (1-d, 2-d, 3-d) or ConvTranspose followed by an inference-mode
    BatchNormalization that is its only user, with constant weight, bias and
    BN parameters, becomes one Conv/ConvTranspose with
    `W' = W * s`, `b' = (b - mean) * s + beta`, `s = gamma / sqrt(var + eps)`
    per output channel. The fused layer keeps the Conv's node name (AMCT's
    layer name) and takes the BatchNormalization's output tensor name.
    A 2-D MatMul by a constant [K, N] matrix whose only user adds a constant
    [N] (or [1, N]) bias becomes Gemm(A, B, bias) with the MatMul's name.
    Layers named in `skip-layers` (AMCT's `skip_fusion_layers`) are left
    alone.
  }];
  let options = [
    ListOption<"skipLayers", "skip-layers", "std::string",
               "layer (node) names not to fuse">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

#endif // AMCT_TRANSFORMS_PASSES_TD
