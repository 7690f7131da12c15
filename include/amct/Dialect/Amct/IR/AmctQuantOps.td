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

#endif // AMCT_DIALECT_AMCT_IR_AMCTQUANTOPS_TD
