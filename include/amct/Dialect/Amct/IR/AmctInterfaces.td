//===- AmctInterfaces.td - amct op interfaces and traits ---*- tablegen -*-===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTINTERFACES_TD
#define AMCT_DIALECT_AMCT_IR_AMCTINTERFACES_TD

include "mlir/IR/OpBase.td"

/// Marks a typed op that stands for the ONNX op of the same name in the
/// default domain; the exporter writes it back as that node type.
def Amct_OnnxOpTrait : NativeOpTrait<"OnnxOp"> {
  let cppNamespace = "::amct::OpTrait";
}

/// Channel flow, the questions pruning asks of ops that are not layers
/// (amct/Transforms/ChannelPrune.h): which axes of the data keep their
/// meaning through the op, so that removing a channel upstream removes
/// the same channel here.

/// Result 0 is operand 0 transformed element by element (same shape, each
/// element from the element at the same position): every axis keeps its
/// channels. Other operands, if any, are scalars (Clip's min / max).
def Amct_ElementwiseUnaryTrait : NativeOpTrait<"ElementwiseUnary"> {
  let cppNamespace = "::amct::OpTrait";
}

/// Result 0 keeps operand 0's batch and channel axes (0 and 1) and channel
/// c of the result is computed from channel c of the input alone (pooling
/// over the spatial axes).
def Amct_ChannelwiseTrait : NativeOpTrait<"Channelwise"> {
  let cppNamespace = "::amct::OpTrait";
}

/// Result 0 is an element-wise function of the operands under numpy
/// (right-aligned) broadcasting: a channel of an operand meets the same
/// channel of every operand that has the axis.
def Amct_BroadcastElementwiseTrait : NativeOpTrait<"BroadcastElementwise"> {
  let cppNamespace = "::amct::OpTrait";
}

def Amct_OnnxVersionOpInterface : OpInterface<"OnnxVersionOpInterface"> {
  let cppNamespace = "::amct";
  let description = [{
    The default-domain opsets a typed ONNX op stands for. A module without
    `amct.opset_import` (written by hand) runs each typed op with the
    semantics of the newest of them.
  }];
  let methods = [
    StaticInterfaceMethod<"The first opset the typed op implements.", "int64_t",
      "getOnnxSinceVersion", (ins), [{}], [{ return ConcreteOp::kOnnxSinceVersion; }]>,
    StaticInterfaceMethod<"The last opset the typed op implements (999: open).", "int64_t",
      "getOnnxUntilVersion", (ins), [{}], [{ return ConcreteOp::kOnnxUntilVersion; }]>
  ];
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

def Amct_QuantizableLayerOpInterface : OpInterface<"QuantizableLayerOpInterface"> {
  let cppNamespace = "::amct";
  let description = [{
    An op that can be one of AMCT's quantizable layers. Every pass that asks
    "is this a layer, which operand is the weight, which axis holds the
    output channels, where is the bias" asks this interface; checks that
    span layers (a shared weight, a duplicate or missing node name, the
    config) stay in `findQuantizableLayers` (amct/Transforms/
    QuantizableLayers.h). A new quantizable op implements these methods
    (`DeclareOpInterfaceMethods` in its ODS definition) and needs nothing
    else in the passes, the executor or the summary.
  }];
  let methods = [
    InterfaceMethod<[{
        AMCT's layer type of this op, or nothing when the op is not a layer
        at all in this use (a MatMul of two activations).
      }], "std::optional<::amct::LayerKind>", "getLayerKind">,
    InterfaceMethod<[{
        Why this op, a layer of kind getLayerKind(), cannot be quantized
        (AMCT's constraints on shapes and attributes: Conv1d, Conv3d with
        depth dilation, Gemm with transA, ...); empty when it can.
      }], "std::string", "getUnsupportedReason">,
    InterfaceMethod<"Index of the operand that carries the activations.",
      "unsigned", "getDataOperandIndex", (ins), "", [{ return 0; }]>,
    InterfaceMethod<"Index of the weight operand; nothing for a layer without weight (AvgPool2d).",
      "std::optional<unsigned>", "getWeightOperandIndex", (ins), "", [{ return 1u; }]>,
    InterfaceMethod<[{
        The weight dimension that indexes output channels (the axis of
        per-channel weight scales). Only for layers with a weight.
      }], "int64_t", "getWeightOutputChannelAxis">,
    InterfaceMethod<[{
        The weight dimension that indexes the data input's channels (within
        a group): pruning a producer's output channels removes this
        dimension's entries in its consumers. Only for layers with a weight.
      }], "int64_t", "getWeightInputChannelAxis">,
    InterfaceMethod<[{
        Output channels of the layer: the int32 accumulator's channels, one
        deq_scale each (a grouped ConvTranspose has group x the weight's).
        Needs a ranked weight.
      }], "int64_t", "getOutputChannelCount">,
    InterfaceMethod<[{
        The result dimension holding the output channels (where
        AscendDequant applies its per-channel scales): 1 for convolutions
        and Gemm, the last for MatMul.
      }], "int64_t", "getResultChannelAxis">,
    InterfaceMethod<[{
        How the weight lines up with the data input's channels (the
        channels DMQ, SmoothQuant, AWQ scale and pruning removes), or
        nothing with the reason in `why`.
      }], "std::optional<::amct::InputChannelLayout>", "getInputChannelLayout",
      (ins "std::string &":$why)>,
    InterfaceMethod<[{
        The operand holding the layer's bias, which becomes int32 when the
        layer is quantized: an operand of the layer itself (Conv,
        ConvTranspose: B; Gemm: C) or, for a MatMul, the constant operand of
        an Add that is its only user and adds one value per output channel
        (an N-d Linear's bias, which fusion cannot turn into Gemm). Null
        when there is none. Whether an on-layer bias can become int32 is
        checked by the caller.
      }], "::mlir::OpOperand *", "getBiasOperand">,
    InterfaceMethod<[{
        The zero point of the int8 data input (Ascend's offset_x), set by
        --amct-convert on the int8 layer (and by the importer of a deploy
        model, from the AscendQuant feeding the layer: AMCT's deploy models
        carry it there, not on the layer); 0 when absent. A layer without
        the attribute overrides supportsOffsetX() and these two.
      }], "int64_t", "getDataOffsetX", (ins), "", [{
        std::optional<uint64_t> offset = $_op.getOffsetX();
        return offset ? static_cast<int64_t>(*offset) : 0;
      }]>,
    InterfaceMethod<"Whether the layer has an int8 form with a zero point (offset_x).",
      "bool", "supportsOffsetX", (ins), "", [{ return true; }]>,
    InterfaceMethod<"Sets offset_x (callers check supportsOffsetX()).",
      "void", "setDataOffsetX", (ins "int64_t":$offset), "", [{
        $_op.setOffsetX(static_cast<uint64_t>(offset));
      }]>,
  ];
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTINTERFACES_TD
