//===- AmctDialect.td - amct dialect definition ------------*- tablegen -*-===//
//
// The amct dialect holds an imported ONNX graph: typed ops for the ONNX ops
// that passes and the executor reason about, one generic op for any other
// node, and the quantization ops the passes insert.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTDIALECT_TD
#define AMCT_DIALECT_AMCT_IR_AMCTDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Amct_Dialect : Dialect {
  let name = "amct";
  let cppNamespace = "::amct";
  let summary = "ONNX graphs and their quantization for the Ascend NPU";
  let description = [{
    Typed ops are named after the ONNX op they stand for (`amct.Conv` is ONNX
    `Conv`), carry the ONNX attributes under their ONNX names and are created
    only for the opset range whose semantics they implement. Every other node
    is an `amct.node`, which keeps op type, domain, attributes and subgraphs,
    so that import followed by export never drops or changes a node.
    Absent optional inputs are the `none` value of `amct.none`.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTDIALECT_TD
