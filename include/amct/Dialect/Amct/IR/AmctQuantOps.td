//===- AmctQuantOps.td - amct quantization ops -------------*- tablegen -*-===//
//
// The ops the quantization passes insert: observers (calibration) and
// fake-quant (quantize-then-dequantize with final parameters). Semantics in
// docs/Quantization.md.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_AMCT_IR_AMCTQUANTOPS_TD
#define AMCT_DIALECT_AMCT_IR_AMCTQUANTOPS_TD

def Amct_ObserverOp : Amct_Op<"observer", [SameOperandsAndResultType]> {
  let summary = "identity that records the statistics of the values it sees";
  let description = [{
    Inserted by --amct-insert-calibration on the data input of a quantizable
    layer. `layer` is the layer's node name (the record file key), `method`
    what is collected: the activation calibration (`#amct.ifmr<...>`,
    `#amct.hfmg<...>` with AMCT's config keys), DMQ's channel maxima
    (`#amct.dmq`) or the layer's output itself (`#amct.layer_output`);
    `weights` the layer's weight quantization (`#amct.arq<...>`) when it
    has weights. The executor passes every value to the statistics
    collector of `layer`; it has a side effect, so it is never folded away.
  }];
  let arguments = (ins TensorOf<[F32]>:$input, StrAttr:$layer,
                   AnyAttrOf<[Amct_IfmrAttr, Amct_HfmgAttr, Amct_DmqObserverAttr,
                              Amct_LayerOutputAttr]>:$method,
                   OptionalAttr<Amct_ArqAttr>:$weights);
  let results = (outs TensorOf<[F32]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Amct_FakeQuantOp : Amct_Op<"fake_quant", [Pure, SameOperandsAndResultType]> {
  let summary = "quantize then dequantize: (clamp(rint(x / s) + o, qmin, qmax) - o) * s";
  let description = [{
    Per tensor (one scale and offset) or per channel along `axis`. int8 by
    default (`num_bits`, 2..16 or 32). Exported as ONNX QuantizeLinear +
    DequantizeLinear; on a constant, as the quantized initializer and a
    DequantizeLinear.

    With 2..16 bits x / s is a float division, as QuantizeLinear does it.
    32 bits is the int32 bias of an int8 layer (s = scale_d * scale_w): the
    quotient is taken in double, rint(double(x) / s), and the result is
    float(q - o) * s, exactly the value DequantizeLinear gives for the int32
    initializer the deploy model adds to its accumulator.
  }];
  let arguments = (ins TensorOf<[F32]>:$input, DenseF32ArrayAttr:$scale,
                   DenseI64ArrayAttr:$offset,
                   DefaultValuedAttr<I64Attr, "8">:$num_bits,
                   OptionalAttr<I64Attr>:$axis);
  let results = (outs TensorOf<[F32]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Amct_DequantizeWeightOp : Amct_Op<"dequantize_weight", [Pure]> {
  let summary = "a Linear layer's integer weight as float: (q - offset) * scale, per tensor, channel or group";
  let description = [{
    The weight of a language-model Linear layer after weight-only
    quantization: `q` is [K, N] (K input channels, N outputs; the MatMul
    layout) with int8 or int4 values (`num_bits`; int4 values one per i8
    here, packed two per byte only in the deploy model). `scale` (and
    `offset`, absent when symmetric) is [G, N] per group, [1, N] per output
    channel or [1, 1] per tensor; with `group_size` G > 0, row r uses the
    parameters of group r / G (K need not be a multiple of G: the last group
    is short, as if K were padded with zeros). Offsets are integers held as
    floats, so the result is float(q) - offset, times scale, in float32
    arithmetic: the same operations ONNX Runtime performs on the exported
    form (Cast, Sub, Mul, and a Gather of the group parameters) and the
    deploy model's WeightQuantBatchMatmulV2 performs with antiquant_offset =
    -offset. A float16 / bfloat16 result (the weight of a 16-bit model) is
    that float32 value rounded to nearest even. The model holds the
    integers and no float copy of the weight.
  }];
  let arguments = (ins TensorOf<[I8]>:$q, TensorOf<[F32]>:$scale,
                   AnyTypeOf<[TensorOf<[F32]>, NoneType]>:$offset,
                   I64Attr:$num_bits,
                   DefaultValuedAttr<I64Attr, "0">:$group_size);
  let results = (outs TensorOf<[F32, F16, BF16]>:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Amct_FakeQuantPerTokenOp : Amct_Op<"fake_quant_per_token", [Pure, SameOperandsAndResultType]> {
  let summary = "dynamic int8 quantize then dequantize of every row (token) along the last axis";
  let description = [{
    A language-model layer's input quantized per token at run time (W8A8
    with `strategy: token`): nothing is calibrated, each row of the last
    axis gets its own parameters from its own values, in float32:
      symmetric:  s = max(max|row| / 127, FLT_MIN), y = clamp(rint(x / s), -128, 127) * s
      asymmetric: lo = min(min(row), 0), hi = max(max(row), 0),
                  s = max((hi - lo) / 255, FLT_MIN), o = clamp(-128 - rint(lo / s), -128, 127),
                  y = (clamp(rint(x / s) + o, -128, 127) - o) * s
    FLT_MIN keeps an all-zero row finite (it quantizes to 0). A float16 /
    bfloat16 input (a 16-bit model) is computed in float32 and the result
    rounded to its type (exported with a Cast to float32 before and one
    back after). Exported as
    standard ONNX ops (Abs, ReduceMax/ReduceMin, Div, Max, Round, Clip, Mul)
    that compute the same values in ONNX Runtime; --amct-convert makes the
    deploy model's DynamicQuant (V2 when asymmetric), which computes the
    same integers and scales.
  }];
  let arguments = (ins TensorOf<[F32, F16, BF16]>:$input,
                   DefaultValuedAttr<BoolAttr, "false">:$asymmetric);
  let results = (outs TensorOf<[F32, F16, BF16]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // AMCT_DIALECT_AMCT_IR_AMCTQUANTOPS_TD
