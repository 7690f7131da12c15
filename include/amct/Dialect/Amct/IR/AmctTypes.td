//===- AmctTypes.td - amct dialect types -------------------*- tablegen -*-===//
//
// ONNX value types that the builtin type system has no spelling for.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTTYPES_TD
#define AMCT_DIALECT_AMCT_IR_AMCTTYPES_TD

include "amct/Dialect/Amct/IR/AmctDialect.td"

class Amct_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Amct_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Amct_StringType : Amct_Type<"String", "string"> {
  let summary = "ONNX STRING element type";
}

def Amct_SeqType : Amct_Type<"Seq", "seq"> {
  let summary = "ONNX sequence of values";
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
}

def Amct_OptType : Amct_Type<"Opt", "opt"> {
  let summary = "ONNX optional value";
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
}

def Amct_UnknownType : Amct_Type<"Unknown", "unknown"> {
  let summary = "a value whose ONNX type is not known (no value_info, no inference)";
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTTYPES_TD
