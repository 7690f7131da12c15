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

//===----------------------------------------------------------------------===//
// Observer parameters: what --amct-insert-calibration read from the config,
// typed, so calibration reads fields instead of dictionary keys.
//===----------------------------------------------------------------------===//

/// A double (held as an APFloat, which MLIR can hash), printed so that it
/// reads back exactly (shortest digits, or hex).
def Amct_F64Param : AttrParameter<"::llvm::APFloat", "a double"> {
  let printer = [{ $_printer.printFloat($_self) }];
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::APFloat> {
    double value;
    if ($_parser.parseFloat(value))
      return ::mlir::failure();
    return ::llvm::APFloat(value);
  }() }];
}

def Amct_BoolParam : AttrParameter<"bool", "true or false"> {
  let printer = [{ $_printer << ($_self ? "true" : "false") }];
  let parser = [{ [&]() -> ::mlir::FailureOr<bool> {
    if (::mlir::succeeded($_parser.parseOptionalKeyword("true")))
      return true;
    if (::mlir::succeeded($_parser.parseOptionalKeyword("false")))
      return false;
    return $_parser.emitError($_parser.getCurrentLocation(), "expected true or false");
  }() }];
}

class Amct_ObserverAttr<string name, string attrMnemonic>
    : AttrDef<Amct_Dialect, name> {
  let mnemonic = attrMnemonic;
}

def Amct_IfmrAttr : Amct_ObserverAttr<"Ifmr", "ifmr"> {
  let summary = "IFMR activation calibration (AMCT's ifmr_quantize keys)";
  let parameters = (ins "int64_t":$num_bits, Amct_BoolParam:$asymmetric,
      Amct_F64Param:$max_percentile, Amct_F64Param:$min_percentile,
      Amct_F64Param:$search_range_start, Amct_F64Param:$search_range_end,
      Amct_F64Param:$search_step);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Amct_HfmgAttr : Amct_ObserverAttr<"Hfmg", "hfmg"> {
  let summary = "HFMG activation calibration (AMCT's hfmg_quantize keys)";
  let parameters = (ins "int64_t":$num_bits, Amct_BoolParam:$asymmetric,
      "int64_t":$num_of_bins);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Amct_DmqObserverAttr : Amct_ObserverAttr<"DmqObserver", "dmq"> {
  let summary = "per-channel activation maxima for the DMQ balancer";
}

def Amct_LayerOutputAttr : Amct_ObserverAttr<"LayerOutput", "layer_output"> {
  let summary = "a layer's output, handed to the caller (layer cosine)";
}

def Amct_ArqAttr : Amct_ObserverAttr<"Arq", "arq"> {
  let summary = "ARQ weight quantization of the observed layer (AMCT's arq_quantize keys)";
  let parameters = (ins "int64_t":$num_bits, Amct_BoolParam:$channel_wise);
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTATTRS_TD
