//===- AscendOps.td - Ascend deploy ops ---------------------*- tablegen -*-===//
//
// The quantization ops the Ascend NPU runs (ATC's AscendQuant family), with
// the attribute names and encodings of AMCT's deploy models. Exported as ONNX
// nodes of the same op type, in the default domain as AMCT writes them.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_DIALECT_ASCEND_IR_ASCENDOPS_TD
#define AMCT_DIALECT_ASCEND_IR_ASCENDOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Ascend_Dialect : Dialect {
  let name = "ascend";
  let cppNamespace = "::amct::ascend";
  let summary = "Ascend NPU deploy ops: AscendQuant, AscendDequant, AscendAntiQuant, AscendWeightQuant";
}

class Ascend_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ascend_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Ascend_QuantOp : Ascend_Op<"AscendQuant"> {
  let summary = "y = saturate(round(x * scale + offset)) to int8 or int4";
  let description = [{
    `scale` is 1/scale_d and `offset` is offset_d of the layer's activation
    quantization. `round_mode` is one of Round (half to even), Floor, Ceil,
    Trunc; `dst_type` INT8 (result i8) or INT4 (result i4). With `sqrt_mode`
    the scale is applied twice (x * scale * scale), as Ascend defines it.
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$x,
      F32Attr:$scale, F32Attr:$offset,
      DefaultValuedAttr<BoolAttr, "false">:$sqrt_mode,
      DefaultValuedStrAttr<StrAttr, "Round">:$round_mode,
      DefaultValuedStrAttr<StrAttr, "INT8">:$dst_type);
  let results = (outs AnyTypeOf<[TensorOf<[I8]>, TensorOf<[I<4>]>]>:$y);
}

def Ascend_DequantOp : Ascend_Op<"AscendDequant"> {
  let summary = "y = float(x) * deq_scale (per tensor or per output channel)";
  let description = [{
    `deq_scale` is uint64 with the fp32 bit pattern of scale_d * scale_w in
    its low 32 bits and zero high bits; one element or one per channel (dim 1
    of x). `relu_flag` applies ReLU after the scale; `dtype` is the result
    type: 0 = float32, 1 = float16.
  }];
  let arguments = (ins TensorOf<[I32]>:$x, TensorOf<[UI64]>:$deq_scale,
      DefaultValuedAttr<BoolAttr, "false">:$sqrt_mode,
      DefaultValuedAttr<BoolAttr, "false">:$relu_flag,
      DefaultValuedAttr<I64Attr, "0">:$dtype);
  let results = (outs AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$y);
}

def Ascend_AntiQuantOp : Ascend_Op<"AscendAntiQuant"> {
  let summary = "y = (float(x) + offset) * scale: int8 back to float";
  let arguments = (ins AnyTypeOf<[TensorOf<[I8]>, TensorOf<[I<4>]>]>:$x,
      F32Attr:$scale, F32Attr:$offset,
      DefaultValuedAttr<I64Attr, "0">:$dtype,
      DefaultValuedAttr<BoolAttr, "false">:$sqrt_mode);
  let results = (outs AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$y);
}

def Ascend_WeightQuantOp : Ascend_Op<"AscendWeightQuant"> {
  let summary = "int8 weights minus their int8 offset, as int8 or int4";
  let arguments = (ins TensorOf<[I8]>:$x, TensorOf<[I8]>:$offset_w,
      DefaultValuedStrAttr<StrAttr, "INT8">:$dst_type);
  let results = (outs AnyTypeOf<[TensorOf<[I8]>, TensorOf<[I<4>]>]>:$y);
}

#endif // AMCT_DIALECT_ASCEND_IR_ASCENDOPS_TD
