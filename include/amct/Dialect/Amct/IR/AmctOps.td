//===- AmctOps.td - amct graph ops --------------------------*- tablegen -*-===//
//
// Typed ONNX ops, the generic node op and the structural ops of an imported
// graph. Attribute names are the ONNX names, so import and export are a
// rename-free mapping: INT -> I64Attr, FLOAT -> F32Attr, STRING -> StrAttr,
// INTS -> DenseI64ArrayAttr, FLOATS -> DenseF32ArrayAttr, TENSOR ->
// ElementsAttr. An absent attribute stays absent (defaults are applied by the
// accessors, never materialised), so export writes what import read.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTOPS_TD
#define AMCT_DIALECT_AMCT_IR_AMCTOPS_TD

include "amct/Dialect/Amct/IR/AmctDialect.td"
include "amct/Dialect/Amct/IR/AmctTypes.td"
include "amct/Dialect/Amct/IR/AmctAttrs.td"
include "amct/Dialect/Amct/IR/AmctEnums.td"
include "amct/Dialect/Amct/IR/AmctInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

class Amct_Op<string mnemonic, list<Trait> traits = []>
    : Op<Amct_Dialect, mnemonic, traits>;

def Amct_TensorOrNone : AnyTypeOf<[AnyTensor, NoneType]>;

/// Ascend extension of the product layers in a deploy model: the int8 data
/// input's zero point (AscendQuant's offset). The layer computes on
/// (x - offset_x), and padding stands for x = offset_x, i.e. real zero.
def Amct_OffsetXAttr : OptionalAttr<I64Attr>;

/// An op that can be an AMCT quantizable layer with a weight.
def Amct_QuantizableLayer : DeclareOpInterfaceMethods<Amct_QuantizableLayerOpInterface>;

/// A typed ONNX op valid for default-domain opsets [since, until]; nodes of
/// other opsets import as `amct.node`.
class Amct_OnnxOp<string mnemonic, int since, int until, list<Trait> traits = []>
    : Amct_Op<mnemonic, !listconcat(traits, [Pure, Amct_OnnxOpTrait,
        Amct_OnnxVersionOpInterface,
        DeclareOpInterfaceMethods<Amct_ShapeInferenceOpInterface>])> {
  code onnxVersionDecl = "static constexpr int64_t kOnnxSinceVersion = " # since #
      ", kOnnxUntilVersion = " # until # ";";
  let extraClassDeclaration = onnxVersionDecl;
  // Runs after the attribute constraints, so inference sees well-typed attributes.
  let hasVerifier = 1;
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Structural ops
//===----------------------------------------------------------------------===//

def Amct_NoneOp : Amct_Op<"none", [Pure, ConstantLike]> {
  let summary = "the absent optional input of an ONNX node (input name \"\")";
  let results = (outs NoneType:$result);
  let assemblyFormat = "attr-dict";
  let hasFolder = 1;
}

def Amct_ConstOp : Amct_Op<"const", [Pure, ConstantLike,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "a graph initializer; its name is the op's NameLoc";
  let description = [{
    Large initializers are `dense_resource` blobs: the context does not unique
    them, so a model's weights are held once.
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Amct_NodeOp : Amct_Op<"node", [RecursiveMemoryEffects]> {
  let summary = "any ONNX node without a typed op";
  let description = [{
    Keeps the node's op type, domain and attributes (`onnx_attrs`, ONNX names).
    Graph-valued attributes are the regions; `subgraphs` names the attribute
    of each region in order. A region's block arguments are the subgraph's
    inputs and its `amct.yield` returns the subgraph's outputs; values of the
    enclosing graph are used directly.
  }];
  let arguments = (ins StrAttr:$op_type, DefaultValuedStrAttr<StrAttr, "">:$domain,
                   Variadic<AnyType>:$inputs,
                   DictionaryAttr:$onnx_attrs,
                   OptionalAttr<StrArrayAttr>:$subgraphs);
  let results = (outs Variadic<AnyType>:$outputs);
  let regions = (region VariadicRegion<SizedRegion<1>>:$bodies);
  let assemblyFormat = [{
    $op_type (`domain` $domain^)? `(` $inputs `)` $onnx_attrs (`graphs` $bodies^)?
    attr-dict-with-keyword `:` functional-type($inputs, $outputs)
  }];
  let hasVerifier = 1;
}

def Amct_YieldOp : Amct_Op<"yield", [Pure, Terminator, ReturnLike, HasParent<"NodeOp">]> {
  let summary = "the outputs of a subgraph";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

//===----------------------------------------------------------------------===//
// Typed ONNX ops
//===----------------------------------------------------------------------===//

class Amct_UnaryOp<string mnemonic, int since, int until = 999>
    : Amct_OnnxOp<mnemonic, since, until, [SameOperandsAndResultElementType,
                                            Amct_ElementwiseUnaryTrait]> {
  let arguments = (ins AnyTensor:$X);
  let results = (outs AnyTensor:$Y);
}

def Amct_ReluOp : Amct_UnaryOp<"Relu", 6> { let summary = "ONNX Relu"; }
def Amct_SigmoidOp : Amct_UnaryOp<"Sigmoid", 6> { let summary = "ONNX Sigmoid"; }
def Amct_TanhOp : Amct_UnaryOp<"Tanh", 6> { let summary = "ONNX Tanh"; }
def Amct_SqrtOp : Amct_UnaryOp<"Sqrt", 6> { let summary = "ONNX Sqrt"; }
def Amct_ErfOp : Amct_UnaryOp<"Erf", 9> { let summary = "ONNX Erf"; }
def Amct_NegOp : Amct_UnaryOp<"Neg", 6> { let summary = "ONNX Neg"; }
def Amct_AbsOp : Amct_UnaryOp<"Abs", 6> { let summary = "ONNX Abs"; }
def Amct_ExpOp : Amct_UnaryOp<"Exp", 6> { let summary = "ONNX Exp"; }
def Amct_LogOp : Amct_UnaryOp<"Log", 6> { let summary = "ONNX Log"; }
def Amct_ReciprocalOp : Amct_UnaryOp<"Reciprocal", 6> { let summary = "ONNX Reciprocal"; }
def Amct_FloorOp : Amct_UnaryOp<"Floor", 6> { let summary = "ONNX Floor"; }
def Amct_CeilOp : Amct_UnaryOp<"Ceil", 6> { let summary = "ONNX Ceil"; }
def Amct_SinOp : Amct_UnaryOp<"Sin", 7> { let summary = "ONNX Sin"; }
def Amct_CosOp : Amct_UnaryOp<"Cos", 7> { let summary = "ONNX Cos"; }
def Amct_SoftplusOp : Amct_UnaryOp<"Softplus", 1> { let summary = "ONNX Softplus: log(exp(x) + 1)"; }
def Amct_HardSwishOp : Amct_UnaryOp<"HardSwish", 14> {
  let summary = "ONNX HardSwish: x * max(0, min(1, x / 6 + 0.5)) (MobileNetV3)";
}

/// Unary activations with one float attribute or two.
def Amct_HardSigmoidOp : Amct_OnnxOp<"HardSigmoid", 6, 999, [SameOperandsAndResultElementType, Amct_ElementwiseUnaryTrait]> {
  let summary = "ONNX HardSigmoid: max(0, min(1, alpha * x + beta))";
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "0.2f">:$alpha,
                   DefaultValuedAttr<F32Attr, "0.5f">:$beta);
  let results = (outs AnyTensor:$Y);
}
def Amct_LeakyReluOp : Amct_OnnxOp<"LeakyRelu", 6, 999, [SameOperandsAndResultElementType, Amct_ElementwiseUnaryTrait]> {
  let summary = "ONNX LeakyRelu: x < 0 ? alpha * x : x";
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "0.01f">:$alpha);
  let results = (outs AnyTensor:$Y);
}
def Amct_EluOp : Amct_OnnxOp<"Elu", 6, 999, [SameOperandsAndResultElementType, Amct_ElementwiseUnaryTrait]> {
  let summary = "ONNX Elu: x < 0 ? alpha * (exp(x) - 1) : x";
  let arguments = (ins AnyTensor:$X, DefaultValuedAttr<F32Attr, "1.0f">:$alpha);
  let results = (outs AnyTensor:$Y);
}

def Amct_IdentityOp : Amct_OnnxOp<"Identity", 1, 999, [Amct_ElementwiseUnaryTrait]> {
  let summary = "ONNX Identity (tensors only; sequences stay generic)";
  let arguments = (ins AnyTensor:$input);
  let results = (outs AnyTensor:$output);
}

/// Binary ops with multidirectional (numpy) broadcasting, opset >= 7.
class Amct_BroadcastOp<string mnemonic> : Amct_OnnxOp<mnemonic, 7, 999, [Amct_BroadcastElementwiseTrait]> {
  let arguments = (ins AnyTensor:$A, AnyTensor:$B);
  let results = (outs AnyTensor:$C);
}

def Amct_AddOp : Amct_BroadcastOp<"Add"> { let summary = "ONNX Add"; }
def Amct_SubOp : Amct_BroadcastOp<"Sub"> { let summary = "ONNX Sub"; }
def Amct_MulOp : Amct_BroadcastOp<"Mul"> { let summary = "ONNX Mul"; }
def Amct_DivOp : Amct_BroadcastOp<"Div"> { let summary = "ONNX Div"; }
/// Comparisons with multidirectional broadcasting: a bool result.
class Amct_CompareOp<string mnemonic, int since> : Amct_OnnxOp<mnemonic, since, 999> {
  let arguments = (ins AnyTensor:$A, AnyTensor:$B);
  let results = (outs AnyTensor:$C);
}
def Amct_EqualOp : Amct_CompareOp<"Equal", 7> { let summary = "ONNX Equal"; }
def Amct_LessOp : Amct_CompareOp<"Less", 7> { let summary = "ONNX Less"; }
def Amct_GreaterOp : Amct_CompareOp<"Greater", 7> { let summary = "ONNX Greater"; }
def Amct_LessOrEqualOp : Amct_CompareOp<"LessOrEqual", 12> { let summary = "ONNX LessOrEqual"; }
def Amct_GreaterOrEqualOp : Amct_CompareOp<"GreaterOrEqual", 12> { let summary = "ONNX GreaterOrEqual"; }
def Amct_NotOp : Amct_UnaryOp<"Not", 1> { let summary = "ONNX Not (bool)"; }
def Amct_WhereOp : Amct_OnnxOp<"Where", 9, 999> {
  let summary = "ONNX Where: condition ? X : Y, all three broadcast (causal masks)";
  let arguments = (ins AnyTensor:$condition, AnyTensor:$X, AnyTensor:$Y);
  let results = (outs AnyTensor:$output);
}

def Amct_ExpandOp : Amct_OnnxOp<"Expand", 8, 999> {
  let summary = "ONNX Expand: input broadcast with `shape` (numpy rules)";
  let arguments = (ins AnyTensor:$input, AnyTensor:$shape);
  let results = (outs AnyTensor:$output);
}
def Amct_ConstantOfShapeOp : Amct_OnnxOp<"ConstantOfShape", 9, 999> {
  let summary = "ONNX ConstantOfShape: a tensor of shape `input` filled with `value` (default float 0)";
  let arguments = (ins AnyTensor:$input, OptionalAttr<ElementsAttr>:$value);
  let results = (outs AnyTensor:$output);
}
def Amct_RangeOp : Amct_OnnxOp<"Range", 11, 999> {
  let summary = "ONNX Range: start, start + delta, ... below limit (scalars)";
  let arguments = (ins AnyTensor:$start, AnyTensor:$limit, AnyTensor:$delta);
  let results = (outs AnyTensor:$output);
}

def Amct_TriluOp : Amct_OnnxOp<"Trilu", 14, 999> {
  let summary = "ONNX Trilu: the upper (or lower) triangle of the last two dims, from diagonal k";
  let arguments = (ins AnyTensor:$input, Amct_TensorOrNone:$k,
                   DefaultValuedAttr<I64Attr, "1">:$upper);
  let results = (outs AnyTensor:$output);
}

def Amct_SplitOp : Amct_OnnxOp<"Split", 13, 999> {
  let summary = "ONNX Split along `axis`: by the sizes in `split`, else equally (num_outputs from opset 18)";
  let arguments = (ins AnyTensor:$input, Amct_TensorOrNone:$split,
                   DefaultValuedAttr<I64Attr, "0">:$axis, OptionalAttr<I64Attr>:$num_outputs);
  let results = (outs Variadic<AnyTensor>:$outputs);
}

def Amct_ResizeOp : Amct_OnnxOp<"Resize", 11, 999> {
  let summary = "ONNX Resize (nearest and linear; cubic and tf_crop_and_resize are refused by the executor)";
  let arguments = (ins AnyTensor:$X, Amct_TensorOrNone:$roi, Amct_TensorOrNone:$scales,
      Amct_TensorOrNone:$sizes,
      DefaultValuedStrAttr<StrAttr, "half_pixel">:$coordinate_transformation_mode,
      DefaultValuedAttr<F32Attr, "-0.75f">:$cubic_coeff_a,
      DefaultValuedAttr<I64Attr, "0">:$exclude_outside,
      DefaultValuedAttr<F32Attr, "0.0f">:$extrapolation_value,
      DefaultValuedStrAttr<StrAttr, "nearest">:$mode,
      DefaultValuedStrAttr<StrAttr, "round_prefer_floor">:$nearest_mode);
  let results = (outs AnyTensor:$Y);
}

def Amct_PReluOp : Amct_OnnxOp<"PRelu", 7, 999, [Amct_BroadcastElementwiseTrait]> {
  let summary = "ONNX PRelu: x < 0 ? slope * x : x, slope broadcast to x (unidirectional)";
  let arguments = (ins AnyTensor:$X, AnyTensor:$slope);
  let results = (outs AnyTensor:$Y);
}
def Amct_PowOp : Amct_OnnxOp<"Pow", 7, 999, [Amct_BroadcastElementwiseTrait]> {
  let summary = "ONNX Pow (exponent may have another element type)";
  let arguments = (ins AnyTensor:$X, AnyTensor:$Y);
  let results = (outs AnyTensor:$Z);
}

def Amct_ClipOp : Amct_OnnxOp<"Clip", 11, 999, [Amct_ElementwiseUnaryTrait]> {
  let summary = "ONNX Clip with min/max as optional inputs";
  let arguments = (ins AnyTensor:$input, Amct_TensorOrNone:$min, Amct_TensorOrNone:$max);
  let results = (outs AnyTensor:$output);
}

def Amct_ConvOp : Amct_OnnxOp<"Conv", 1, 999, [Amct_QuantizableLayer]> {
  let summary = "ONNX Conv (1d/2d/3d, grouped)";
  let arguments = (ins AnyTensor:$X, AnyTensor:$W, Amct_TensorOrNone:$B,
      DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad,
      OptionalAttr<DenseI64ArrayAttr>:$dilations,
      DefaultValuedAttr<I64Attr, "1">:$group,
      OptionalAttr<DenseI64ArrayAttr>:$kernel_shape,
      OptionalAttr<DenseI64ArrayAttr>:$pads,
      OptionalAttr<DenseI64ArrayAttr>:$strides,
      Amct_OffsetXAttr:$offset_x);
  let results = (outs AnyTensor:$Y);
}

def Amct_ConvTransposeOp : Amct_OnnxOp<"ConvTranspose", 1, 999, [Amct_QuantizableLayer]> {
  let summary = "ONNX ConvTranspose";
  let arguments = (ins AnyTensor:$X, AnyTensor:$W, Amct_TensorOrNone:$B,
      DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad,
      OptionalAttr<DenseI64ArrayAttr>:$dilations,
      DefaultValuedAttr<I64Attr, "1">:$group,
      OptionalAttr<DenseI64ArrayAttr>:$kernel_shape,
      OptionalAttr<DenseI64ArrayAttr>:$output_padding,
      OptionalAttr<DenseI64ArrayAttr>:$output_shape,
      OptionalAttr<DenseI64ArrayAttr>:$pads,
      OptionalAttr<DenseI64ArrayAttr>:$strides,
      Amct_OffsetXAttr:$offset_x);
  let results = (outs AnyTensor:$Y);
}

def Amct_GemmOp : Amct_OnnxOp<"Gemm", 7, 999, [Amct_QuantizableLayer]> {
  let summary = "ONNX Gemm: alpha * A' * B' + beta * C";
  let arguments = (ins AnyTensor:$A, AnyTensor:$B, Amct_TensorOrNone:$C,
      DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
      DefaultValuedAttr<F32Attr, "1.0f">:$beta,
      DefaultValuedAttr<I64Attr, "0">:$transA,
      DefaultValuedAttr<I64Attr, "0">:$transB,
      Amct_OffsetXAttr:$offset_x);
  let results = (outs AnyTensor:$Y);
}

def Amct_MatMulOp : Amct_OnnxOp<"MatMul", 1, 999, [Amct_QuantizableLayer]> {
  let summary = "ONNX MatMul (numpy matmul semantics)";
  let arguments = (ins AnyTensor:$A, AnyTensor:$B, Amct_OffsetXAttr:$offset_x);
  let results = (outs AnyTensor:$Y);
}

def Amct_BatchNormalizationOp : Amct_OnnxOp<"BatchNormalization", 9, 999> {
  let summary = "ONNX BatchNormalization (inference form: one output)";
  let arguments = (ins AnyTensor:$X, AnyTensor:$scale, AnyTensor:$B,
      AnyTensor:$input_mean, AnyTensor:$input_var,
      DefaultValuedAttr<F32Attr, "1e-05f">:$epsilon,
      DefaultValuedAttr<F32Attr, "0.9f">:$momentum,
      DefaultValuedAttr<I64Attr, "0">:$training_mode);
  let results = (outs AnyTensor:$Y);
}


def Amct_MaxPoolOp : Amct_OnnxOp<"MaxPool", 8, 999, [Amct_ChannelwiseTrait]> {
  let summary = "ONNX MaxPool";
  let arguments = (ins AnyTensor:$X,
      DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad,
      DefaultValuedAttr<I64Attr, "0">:$ceil_mode,
      OptionalAttr<DenseI64ArrayAttr>:$dilations,
      DenseI64ArrayAttr:$kernel_shape,
      OptionalAttr<DenseI64ArrayAttr>:$pads,
      DefaultValuedAttr<I64Attr, "0">:$storage_order,
      OptionalAttr<DenseI64ArrayAttr>:$strides);
  let results = (outs AnyTensor:$Y, Optional<AnyTensor>:$Indices);
}

def Amct_AveragePoolOp : Amct_OnnxOp<"AveragePool", 7, 999, [Amct_ChannelwiseTrait, DeclareOpInterfaceMethods<Amct_QuantizableLayerOpInterface, ["getWeightOperandIndex"]>]> {
  let summary = "ONNX AveragePool (on int8 data in the deploy model)";
  let description = [{
    In the deploy model (AscendQuant -> AveragePool -> AscendDequant, as
    AMCT writes AvgPool2d) X is int8 and Y float32: the average of
    (q - offset_x), where offset_x is the zero point of the AscendQuant
    feeding it, as AMCT's FakeQuantizedAvgPool2d computes it.
  }];
  let arguments = (ins AnyTensor:$X,
      DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad,
      DefaultValuedAttr<I64Attr, "0">:$ceil_mode,
      DefaultValuedAttr<I64Attr, "0">:$count_include_pad,
      OptionalAttr<DenseI64ArrayAttr>:$dilations,
      DenseI64ArrayAttr:$kernel_shape,
      OptionalAttr<DenseI64ArrayAttr>:$pads,
      OptionalAttr<DenseI64ArrayAttr>:$strides,
      Amct_OffsetXAttr:$offset_x);
  let results = (outs AnyTensor:$Y);
}

def Amct_GlobalAveragePoolOp : Amct_OnnxOp<"GlobalAveragePool", 1, 999, [Amct_ChannelwiseTrait]> {
  let summary = "ONNX GlobalAveragePool";
  let arguments = (ins AnyTensor:$X);
  let results = (outs AnyTensor:$Y);
}

def Amct_ConcatOp : Amct_OnnxOp<"Concat", 4, 999> {
  let summary = "ONNX Concat";
  let arguments = (ins Variadic<AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyTensor:$concat_result);
}

def Amct_ReshapeOp : Amct_OnnxOp<"Reshape", 5, 999> {
  let summary = "ONNX Reshape";
  let arguments = (ins AnyTensor:$data, AnyTensor:$shape,
      DefaultValuedAttr<I64Attr, "0">:$allowzero);
  let results = (outs AnyTensor:$reshaped);
}

def Amct_FlattenOp : Amct_OnnxOp<"Flatten", 1, 999> {
  let summary = "ONNX Flatten";
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<I64Attr, "1">:$axis);
  let results = (outs AnyTensor:$output);
}

def Amct_TransposeOp : Amct_OnnxOp<"Transpose", 1, 999> {
  let summary = "ONNX Transpose (no perm: reverse the dimensions)";
  let arguments = (ins AnyTensor:$data, OptionalAttr<DenseI64ArrayAttr>:$perm);
  let results = (outs AnyTensor:$transposed);
}

def Amct_SqueezeOp : Amct_OnnxOp<"Squeeze", 13, 999> {
  let summary = "ONNX Squeeze (axes as an optional input)";
  let arguments = (ins AnyTensor:$data, Amct_TensorOrNone:$axes);
  let results = (outs AnyTensor:$squeezed);
}

def Amct_UnsqueezeOp : Amct_OnnxOp<"Unsqueeze", 13, 999> {
  let summary = "ONNX Unsqueeze (axes as an input)";
  let arguments = (ins AnyTensor:$data, AnyTensor:$axes);
  let results = (outs AnyTensor:$expanded);
}

def Amct_GatherOp : Amct_OnnxOp<"Gather", 1, 999> {
  let summary = "ONNX Gather";
  let arguments = (ins AnyTensor:$data, AnyTensor:$indices,
      DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs AnyTensor:$output);
}

def Amct_SoftmaxOp : Amct_OnnxOp<"Softmax", 13, 999> {
  let summary = "ONNX Softmax (opset 13 semantics: along one axis)";
  let arguments = (ins AnyTensor:$input, DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs AnyTensor:$output);
}

def Amct_LayerNormalizationOp : Amct_OnnxOp<"LayerNormalization", 17, 999> {
  let summary = "ONNX LayerNormalization (one output)";
  let arguments = (ins AnyTensor:$X, AnyTensor:$Scale, Amct_TensorOrNone:$B,
      DefaultValuedAttr<I64Attr, "-1">:$axis,
      DefaultValuedAttr<F32Attr, "1e-05f">:$epsilon,
      DefaultValuedAttr<I64Attr, "1">:$stash_type);
  let results = (outs AnyTensor:$Y);
}

def Amct_ReduceMeanOp : Amct_OnnxOp<"ReduceMean", 1, 17> {
  let summary = "ONNX ReduceMean (axes as an attribute, opsets 1-17)";
  let arguments = (ins AnyTensor:$data, OptionalAttr<DenseI64ArrayAttr>:$axes,
      DefaultValuedAttr<I64Attr, "1">:$keepdims);
  let results = (outs AnyTensor:$reduced);
}

def Amct_PadOp : Amct_OnnxOp<"Pad", 11, 999> {
  let summary = "ONNX Pad (pads, constant_value and axes as inputs)";
  let arguments = (ins AnyTensor:$data, AnyTensor:$pads,
      Amct_TensorOrNone:$constant_value, Amct_TensorOrNone:$axes,
      DefaultValuedStrAttr<StrAttr, "constant">:$mode);
  let results = (outs AnyTensor:$output);
}

def Amct_ConstantOp : Amct_OnnxOp<"Constant", 9, 999> {
  let summary = "ONNX Constant node (exactly one value attribute)";
  let arguments = (ins OptionalAttr<ElementsAttr>:$value,
      OptionalAttr<F32Attr>:$value_float,
      OptionalAttr<DenseF32ArrayAttr>:$value_floats,
      OptionalAttr<I64Attr>:$value_int,
      OptionalAttr<DenseI64ArrayAttr>:$value_ints,
      OptionalAttr<StrAttr>:$value_string,
      OptionalAttr<StrArrayAttr>:$value_strings);
  let results = (outs AnyTensor:$output);
  let assemblyFormat = "attr-dict `:` type($output)";
}

def Amct_ShapeOp : Amct_OnnxOp<"Shape", 1, 999> {
  let summary = "ONNX Shape";
  let arguments = (ins AnyTensor:$data, OptionalAttr<I64Attr>:$start,
      OptionalAttr<I64Attr>:$end);
  let results = (outs AnyTensor:$shape);
}

def Amct_SliceOp : Amct_OnnxOp<"Slice", 10, 999> {
  let summary = "ONNX Slice (starts/ends/axes/steps as inputs)";
  let arguments = (ins AnyTensor:$data, AnyTensor:$starts, AnyTensor:$ends,
      Amct_TensorOrNone:$axes, Amct_TensorOrNone:$steps);
  let results = (outs AnyTensor:$output);
}

def Amct_CastOp : Amct_OnnxOp<"Cast", 6, 999, [Amct_ElementwiseUnaryTrait]> {
  let summary = "ONNX Cast (`to` is an ONNX TensorProto data type)";
  let arguments = (ins AnyTensor:$input, I64Attr:$to,
      OptionalAttr<I64Attr>:$saturate);
  let results = (outs AnyTensor:$output);
}

// ONNX's own quantization ops, as a QDQ model (our fake-quant model, or one
// quantized elsewhere) has them. Opset 21 adds block quantization and more
// types; those models keep amct.node.
def Amct_QuantizeLinearOp : Amct_OnnxOp<"QuantizeLinear", 10, 20> {
  let summary = "ONNX QuantizeLinear: saturate(rint(x / y_scale) + y_zero_point)";
  let description = [{
    Per tensor (scalar scale) or per axis (1-D scale along `axis`, default
    1). The output type is the zero point's (int8 or uint8; float8 from
    opset 19 imports but has no kernel), uint8 without one; rint rounds half
    to even.
  }];
  let arguments = (ins AnyTensor:$x, AnyTensor:$y_scale, Amct_TensorOrNone:$y_zero_point,
      OptionalAttr<I64Attr>:$axis, OptionalAttr<I64Attr>:$saturate);
  let results = (outs AnyTensor:$y);
}

def Amct_DequantizeLinearOp : Amct_OnnxOp<"DequantizeLinear", 10, 20> {
  let summary = "ONNX DequantizeLinear: (x - x_zero_point) * x_scale";
  let description = [{
    int8, uint8 or int32 input (an int32 input, a QDQ model's bias, has
    zero point 0); per tensor or per axis as QuantizeLinear.
  }];
  let arguments = (ins AnyTensor:$x, AnyTensor:$x_scale, Amct_TensorOrNone:$x_zero_point,
      OptionalAttr<I64Attr>:$axis);
  let results = (outs AnyTensor:$y);
}

include "amct/Dialect/Amct/IR/AmctQuantOps.td"

#endif // AMCT_DIALECT_AMCT_IR_AMCTOPS_TD
