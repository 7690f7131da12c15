//===- AmctAttrs.td - amct dialect attributes --------------*- tablegen -*-===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTATTRS_TD
#define AMCT_DIALECT_AMCT_IR_AMCTATTRS_TD

include "amct/Dialect/Amct/IR/AmctDialect.td"

def Amct_RawOnnxAttr : AttrDef<Amct_Dialect, "RawOnnx"> {
  let mnemonic = "raw_onnx";
  let summary = "an ONNX attribute kept as its serialized AttributeProto";
  let description = [{
    For attribute kinds no pass reads (sparse tensors, type protos, graph
    lists, references to function attributes): kept byte for byte so that
    export writes the node back unchanged.
  }];
  let parameters = (ins StringRefParameter<"serialized AttributeProto">:$serialized);
  let assemblyFormat = "`<` $serialized `>`";
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTATTRS_TD
