//===- AmctEnums.td - amct dialect enums -------------------*- tablegen -*-===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTENUMS_TD
#define AMCT_DIALECT_AMCT_IR_AMCTENUMS_TD

include "mlir/IR/EnumAttr.td"

/// AMCT's layer types (reference 004's table of quantizable layers), the
/// names the config's `layer_type`, skip_layer_types and the summary use.
def Amct_LayerKind : I32EnumAttr<"LayerKind", "AMCT layer type of an op", [
    I32EnumAttrCase<"Conv2d", 0>,
    I32EnumAttrCase<"Conv3d", 1>,
    I32EnumAttrCase<"ConvTranspose2d", 2>,
    I32EnumAttrCase<"Linear", 3>,
    I32EnumAttrCase<"AvgPool2d", 4>,
    // A convolution AMCT has no layer type for (Conv1d): reported as skipped.
    I32EnumAttrCase<"Conv", 5>,
  ]> {
  let cppNamespace = "::amct";
  let genSpecializedAttr = 0;
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTENUMS_TD
