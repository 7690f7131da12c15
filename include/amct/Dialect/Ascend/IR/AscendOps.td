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
  let summary = "Ascend NPU deploy ops: AscendQuant, AscendDequant, AscendAntiQuant, AscendWeightQuant, the LLM matmuls";
}

class Ascend_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ascend_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Ascend_QuantOp : Ascend_Op<"AscendQuant"> {
  let summary = "y = saturate(round(x * scale + offset)) to int8 or int4";
  let description = [{
    AMCT's form (insert_quant_pass.py): `scale` is 1/scale_d and `offset`
    is offset_d of the layer's activation quantization, `dst_type` the
    result width, "INT8" (result i8) or "INT4" (result i4); all three are
    required and always exported, as AMCT writes them. Ascend's optional
    `round_mode` (Round = half to even, Floor, Ceil, Trunc) and `sqrt_mode`
    (scale applied twice) are exported only when not the default.
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$x,
      F32Attr:$scale, F32Attr:$offset, StrAttr:$dst_type,
      DefaultValuedAttr<BoolAttr, "false">:$sqrt_mode,
      DefaultValuedStrAttr<StrAttr, "Round">:$round_mode);
  let results = (outs AnyTypeOf<[TensorOf<[I8]>, TensorOf<[I<4>]>]>:$y);
}

def Ascend_DequantOp : Ascend_Op<"AscendDequant"> {
  let summary = "y = x * deq_scale (per tensor or per output channel)";
  let description = [{
    AMCT's form (insert_dequant_pass.py): `deq_scale` is the initializer
    `<layer>.dequant.param`, uint64 [N] (N = 1, or one per output channel),
    each element holding the fp32 bit pattern of scale_d * scale_w[c] in
    bits 31:0 and offset_w in bits 47:40 (always 0: weights are symmetric);
    `dtype` is the GE data type of the result, 0 = float32, 1 = float16,
    always exported. `x` is the layer's int32 accumulator, or the float32
    result of an AveragePool on int8 data (AMCT quantizes AvgPool2d as
    AscendQuant -> AveragePool -> AscendDequant with scale_w = 1).
    `relu_flag` (ReLU after the scale) and `sqrt_mode` are exported only
    when set.
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[I32]>, TensorOf<[F32]>]>:$x,
      TensorOf<[UI64]>:$deq_scale,
      DefaultValuedAttr<BoolAttr, "false">:$sqrt_mode,
      DefaultValuedAttr<BoolAttr, "false">:$relu_flag,
      I64Attr:$dtype);
  let results = (outs AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$y);
}

def Ascend_AntiQuantOp : Ascend_Op<"AscendAntiQuant"> {
  let summary = "y = (float(x) + offset) * scale: int8 back to float";
  let description = [{
    AMCT's form (mult_output_with_quant_optimizer.py): `scale` = scale_d,
    `offset`, `dst_type` the input width ("INT8" / "INT4"). `dtype` (the
    result's GE type) and `sqrt_mode` are Ascend's, exported when set.
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[I8]>, TensorOf<[I<4>]>]>:$x,
      F32Attr:$scale, F32Attr:$offset, StrAttr:$dst_type,
      DefaultValuedAttr<I64Attr, "0">:$dtype,
      DefaultValuedAttr<BoolAttr, "false">:$sqrt_mode);
  let results = (outs AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$y);
}

def Ascend_QuantV2Op : Ascend_Op<"AscendQuantV2"> {
  let summary = "y = saturate(round(x * scale + offset)) to int8, scale and offset per channel";
  let description = [{
    CANN's AscendQuantV2 (torch_npu's npu_quantize): `scale` and `offset`
    are tensors along `axis` of x (default the last), [C] or [1]; as
    AscendQuant, `scale` is the reciprocal of the quantization step. Used for
    the per-channel KV cache (the projection's output channels).
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[F16]>, TensorOf<[BF16]>, TensorOf<[F32]>]>:$x,
      TensorOf<[F32]>:$scale, TensorOf<[F32]>:$offset,
      DefaultValuedAttr<I64Attr, "-1">:$axis,
      DefaultValuedStrAttr<StrAttr, "INT8">:$dst_type);
  let results = (outs TensorOf<[I8]>:$y);
}

def Ascend_AntiQuantV2Op : Ascend_Op<"AscendAntiQuantV2"> {
  let summary = "y = (float(x) + offset) * scale, scale and offset per channel";
  let description = [{
    CANN's AscendAntiQuantV2 (torch_npu's npu_anti_quant): int8 back to
    float with `scale` and `offset` tensors along the last axis ([C] or [1]).
  }];
  let arguments = (ins TensorOf<[I8]>:$x, TensorOf<[F32]>:$scale, TensorOf<[F32]>:$offset);
  let results = (outs AnyTypeOf<[TensorOf<[F16]>, TensorOf<[BF16]>, TensorOf<[F32]>]>:$y);
}

def Ascend_WeightQuantOp : Ascend_Op<"AscendWeightQuant"> {
  let summary = "int8 weights minus their int8 offset, as int8 or int4";
  let arguments = (ins TensorOf<[I8]>:$x, TensorOf<[I8]>:$offset_w,
      DefaultValuedStrAttr<StrAttr, "INT8">:$dst_type);
  let results = (outs AnyTypeOf<[TensorOf<[I8]>, TensorOf<[I<4>]>]>:$y);
}

def Ascend_WeightQuantBatchMatmulV2Op : Ascend_Op<"WeightQuantBatchMatmulV2"> {
  let summary = "y = x @ ((weight + antiquant_offset) * antiquant_scale) + bias: weight-only int8/int4 matmul";
  let description = [{
    The NPU's weight-quant batch matmul (torch_npu's
    npu_weight_quant_batchmatmul): `x` [..., K] float; `weight` [K, N] int8,
    or int4 (`weight_dtype` "INT4") packed two per byte along K, low nibble
    first, as [K / 2, N] int8; `antiquant_scale` [1] per tensor, [N] per
    output channel or [ceil(K / G), N] with `antiquant_group_size` G;
    `antiquant_offset` (optional, the shape of the scale) the negated
    quantization offset; `bias` (optional) [N]. The weight is dequantized in
    float32 and multiplied as MatMul does, so the executor's result equals
    the fake-quant model's dequantize + MatMul + Add bit for bit; with
    float16 / bfloat16 `x` the weight and the product are rounded to that
    type as the fake-quant model's 16-bit tensors are.
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$x,
      TensorOf<[I8]>:$weight, TensorOf<[F32]>:$antiquant_scale,
      AnyTypeOf<[TensorOf<[F32]>, NoneType]>:$antiquant_offset,
      AnyTypeOf<[TensorOf<[F32]>, NoneType]>:$bias,
      DefaultValuedAttr<I64Attr, "0">:$antiquant_group_size,
      DefaultValuedStrAttr<StrAttr, "INT8">:$weight_dtype);
  let results = (outs AnyTypeOf<[TensorOf<[F16]>, TensorOf<[F32]>]>:$y);
}

def Ascend_DynamicQuantOp : Ascend_Op<"DynamicQuant"> {
  let summary = "per-token int8 quantization: y = round(x / scale), scale = max|row| / 127";
  let description = [{
    The NPU's dynamic quantization (torch_npu's npu_dynamic_quant): for
    every row of `x` (the last axis; the other axes are tokens) scale =
    max(max|row| / 127, FLT_MIN) and y = clamp(rint(x / scale), -128, 127).
    `scale` has x's shape without the last axis. Computed in float32 with
    exactly the operations of amct.fake_quant_per_token, so the deploy
    model's int8 values are the fake-quant model's.
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[F16]>, TensorOf<[BF16]>, TensorOf<[F32]>]>:$x);
  let results = (outs TensorOf<[I8]>:$y, TensorOf<[F32]>:$scale);
}

def Ascend_DynamicQuantV2Op : Ascend_Op<"DynamicQuantV2"> {
  let summary = "asymmetric per-token int8 quantization: y = round(x / scale) + offset";
  let description = [{
    DynamicQuant with a zero point per row (torch_npu's
    npu_dynamic_quant_asymmetric): lo = min(min(row), 0), hi = max(max(row),
    0), scale = max((hi - lo) / 255, FLT_MIN), offset = clamp(-128 -
    rint(lo / scale), -128, 127) (an integer held as float32) and y =
    clamp(rint(x / scale) + offset, -128, 127), in float32 as
    amct.fake_quant_per_token computes it.
  }];
  let arguments = (ins AnyTypeOf<[TensorOf<[F16]>, TensorOf<[BF16]>, TensorOf<[F32]>]>:$x);
  let results = (outs TensorOf<[I8]>:$y, TensorOf<[F32]>:$scale, TensorOf<[F32]>:$offset);
}

def Ascend_QuantBatchMatmulV3Op : Ascend_Op<"QuantBatchMatmulV3"> {
  let summary = "y = (x1 - pertoken_offset) @ x2 * scale * pertoken_scale + bias: int8 x int8 matmul";
  let description = [{
    The NPU's quantized matmul with per-token activation scales (torch_npu's
    npu_quant_matmul with pertoken_scale): `x1` [..., K] int8 (a
    DynamicQuant's output), `x2` [K, N] int8 weights, `scale` [1] or [N]
    the weights' scales, `pertoken_scale` x1's shape without the last axis,
    `pertoken_offset` (optional; an asymmetric DynamicQuantV2's zero points:
    our extension, the products are taken of x1 - offset) and `bias`
    (optional, [N] float32, added after scaling). The accumulator is exact
    (integers), y = (float(acc) * scale[n]) * pertoken_scale[m] + bias[n]
    in float32, rounded to y's type (float16 / bfloat16 for a 16-bit model).
  }];
  let arguments = (ins TensorOf<[I8]>:$x1, TensorOf<[I8]>:$x2, TensorOf<[F32]>:$scale,
      TensorOf<[F32]>:$pertoken_scale,
      AnyTypeOf<[TensorOf<[F32]>, NoneType]>:$pertoken_offset,
      AnyTypeOf<[TensorOf<[F32]>, NoneType]>:$bias);
  let results = (outs AnyTypeOf<[TensorOf<[F16]>, TensorOf<[BF16]>, TensorOf<[F32]>]>:$y);
}

#endif // AMCT_DIALECT_ASCEND_IR_ASCENDOPS_TD
