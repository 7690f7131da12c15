//===- AmctInterfaces.td - amct op interfaces and traits ---*- tablegen -*-===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTINTERFACES_TD
#define AMCT_DIALECT_AMCT_IR_AMCTINTERFACES_TD

include "mlir/IR/OpBase.td"

/// Marks a typed op that stands for the ONNX op of the same name in the
/// default domain; the exporter writes it back as that node type.
def Amct_OnnxOpTrait : NativeOpTrait<"OnnxOp"> {
  let cppNamespace = "::amct::OpTrait";
}

def Amct_ShapeInferenceOpInterface : OpInterface<"ShapeInferenceOpInterface"> {
  let cppNamespace = "::amct";
  let description = [{
    Result types computed from operand types and attributes. The same code
    checks the op: inconsistent operands or attributes make it emit an error
    on the op and fail. Dimensions that cannot be known statically come back
    dynamic (or the result unranked), never guessed. The interface verifier
    requires the declared result types to be compatible with the inferred
    ones (each op's verifier, after its attribute constraints held), so a
    model whose value_info lies is rejected.
  }];
  let methods = [
    InterfaceMethod<
      "Computes one type per result; emits an error and fails on bad input.",
      "::mlir::LogicalResult", "inferResultTypes",
      (ins "::llvm::SmallVectorImpl<::mlir::Type> &":$resultTypes)>
  ];
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTINTERFACES_TD
