//===- Passes.td - amct passes ------------------------------*- tablegen -*-===//
//
// The quantization pipeline, one pass per step, each runnable alone on an
// .mlir or .onnx file with amct-opt.
//
//===----------------------------------------------------------------------===//

#ifndef AMCT_TRANSFORMS_PASSES_TD
#define AMCT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AmctFuse : Pass<"amct-fuse", "mlir::func::FuncOp"> {
  let summary = "Fold BatchNormalization into the preceding Conv / ConvTranspose; "
                "MatMul + Add into Gemm where legal";
  let description = [{
    Conv (1-d, 2-d, 3-d) or ConvTranspose followed by an inference-mode
    BatchNormalization that is its only user, with constant weight, bias and
    BN parameters, becomes one Conv/ConvTranspose with
    `W' = W * s`, `b' = (b - mean) * s + beta`, `s = gamma / sqrt(var + eps)`
    per output channel. The fused layer keeps the Conv's node name (AMCT's
    layer name) and takes the BatchNormalization's output tensor name.
    A 2-D MatMul by a constant [K, N] matrix whose only user adds a constant
    [N] (or [1, N]) bias becomes Gemm(A, B, bias) with the MatMul's name.
    Layers named in `skip-layers` (AMCT's `skip_fusion_layers`) are left
    alone.
  }];
  let options = [
    ListOption<"skipLayers", "skip-layers", "std::string",
               "layer (node) names not to fuse">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

def AmctFoldConstants : Pass<"amct-fold-constants", "mlir::func::FuncOp"> {
  let summary = "Fold constant computations that hide weights (Transpose of a constant)";
  let description = [{
    torch writes a Linear layer on an N-d input as MatMul(x, Transpose(W));
    folding the Transpose makes W a constant input of the MatMul, which is
    then a quantizable Linear layer. The folded constant keeps the
    initializer's name. Runs first, before layers are discovered.
  }];
  let dependentDialects = ["::amct::AmctDialect"];
}

def AmctInsertCalibration : Pass<"amct-insert-calibration", "mlir::func::FuncOp"> {
  let summary = "Put an amct.observer on the data input of every layer to quantize";
  let description = [{
    The layers are AMCT's quantizable layers (Conv2d, Conv3d,
    ConvTranspose2d, Linear = Gemm / MatMul by a constant, AvgPool2d) that
    the quant config enables. The config is AMCT's per-layer JSON or the
    simple `.cfg` (protobuf text), recognised by content; without one every
    quantizable layer is quantized with IFMR activations and ARQ weights, as
    `amct create-config` would write. The observer carries the layer name,
    the activation algorithm and its parameters; weight parameters are
    computed from the constant weights when the record is made.
  }];
  let options = [
    Option<"configPath", "config", "std::string", "\"\"",
           "quant config file (AMCT JSON or .cfg); empty: the default config">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

def AmctDmqBalance : Pass<"amct-dmq-balance", "mlir::func::FuncOp"> {
  let summary = "Apply the DMQ balance factors of a record file";
  let description = [{
    For every quantizable layer whose record entry has a
    `tensor_balance_factor` (one positive value f_c per input channel, as
    `amct quantize` computes them when the config enables DMQ:
    `dmq_balancer_param` / `dmq_balancer`), multiplies the weights of input
    channel c by f_c and divides the layer's input by f_c, so the layer
    computes the same function with activations that quantize better. The
    division is folded into the producing Conv or BatchNormalization when
    the input comes from one (directly or through Relu / MaxPool) and is
    used only by this layer; otherwise an `amct.Mul` by 1/f (named
    `<layer>.mul`, AMCT's name) is inserted. Run it before
    `--amct-insert-calibration`. A factor count that differs from the input
    channel count is an error naming the layer.
  }];
  let options = [
    Option<"recordPath", "record", "std::string", "\"\"",
           "record file with the layers' tensor_balance_factor">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

def AmctFoldObservers : Pass<"amct-fold-observers", "mlir::func::FuncOp"> {
  let summary = "Replace observers by fake-quant ops with the recorded parameters";
  let description = [{
    Reads the record file (AMCT's ScaleOffsetRecord, protobuf text): each
    observer becomes `amct.fake_quant` with the layer's scale_d / offset_d,
    and the layer's weight gets an `amct.fake_quant` with scale_w / offset_w
    (one value: per tensor; one per output channel: along the weight's
    channel axis). The layer's bias (Conv / ConvTranspose bias, Gemm C, or
    the constant of an Add that is a MatMul's only user) gets a 32-bit
    `amct.fake_quant` with the accumulator scales scale_d * scale_w[c], so
    the fake-quant model adds the int32 bias the deploy model adds. The
    result is the fake-quant model. A layer missing from the record, or a
    bias that overflows int32, is an error naming the layer.
  }];
  let options = [
    Option<"recordPath", "record", "std::string", "\"\"",
           "record file with the layers' scale and offset">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

def AmctConvert : Pass<"amct-convert", "mlir::func::FuncOp"> {
  let summary = "Fake-quant model -> Ascend deploy model, in AMCT's form";
  let description = [{
    For each layer whose data input and weight are fake-quantized:
    `ascend.AscendQuant` `<layer>.quant` (scale = 1 / scale_d, offset =
    offset_d, dst_type INT8; identical ones on one input shared) before
    it, int8 weights (a Gemm's transposed to [K, N] with transB = 0, as
    AMCT deploys it), int32 bias (rint(b / (scale_d * scale_w[c]));
    overflow is an error naming the layer), the layer on int8 with int32
    results (the data zero point as `offset_x`, which the exporter leaves
    out: AMCT's models carry it on the AscendQuant), and
    `ascend.AscendDequant` `<layer>.dequant` (dtype 0) with the parameter
    `<layer>.dequant.param` = fp32 bits of scale_d * scale_w[c] in a
    uint64. A MatMul's bias Add becomes an int32 Add before the
    AscendDequant. AvgPool2d becomes AscendQuant -> AveragePool on the
    int8 data -> AscendDequant with scale_w = 1. docs/DeployFormat.md gives
    each rule with the AMCT source it follows. A fake-quantized layer with
    no int8 form (say, a bias that is a graph input) is an error naming
    the layer and the reason.
  }];
  let dependentDialects = ["::amct::AmctDialect", "::amct::ascend::AscendDialect"];
}

def AmctPrune : Pass<"amct-prune", "mlir::func::FuncOp"> {
  let summary = "Channel pruning (balanced L2 norm) or 2:4 structured sparsity";
  let description = [{
    `method=channel`: AMCT's balanced_l2_norm_filter_prune. Producers
    (Conv, ConvTranspose, Gemm, MatMul by a constant) whose output channels
    meet in element-wise ops form groups (amct/Transforms/ChannelPrune.h);
    in each group the channels with the lowest summed, min-max normalised
    filter L2 norm are removed (`ratio` of them; the kept count rounded up
    to a multiple of `align`, AMCT's ascend_optimized = 16), with the
    matching entries of BatchNormalization, per-channel constants,
    depthwise convolutions, Reshape shapes and the consumers' input
    channels. A group whose channels reach an op that cannot follow them
    (a graph output, Softmax over channels, a grouped convolution, an
    unknown node) is left alone, with a remark giving the reason.
    `method=2:4`: AMCT's n_out_of_m_pruner M4N2: in every run of 4
    consecutive input channels of each weight row the 2 of smallest
    magnitude become 0 (channels padded to a multiple of 4).
    `config=P.cfg` takes AMCT's prune config (pruner, skip lists,
    overrides) instead of the options; `record=R.txt` re-applies a record's
    prune_record entries (AMCT's restore). No calibration data here:
    `amct prune` adds the least-squares refit of the consumers and writes
    the record.
  }];
  let options = [
    Option<"method", "method", "std::string", "\"channel\"", "channel or 2:4">,
    Option<"configPath", "config", "std::string", "\"\"", "AMCT prune config (.cfg or JSON); overrides the other options">,
    Option<"recordPath", "record", "std::string", "\"\"", "re-apply this record's prune_record entries">,
    Option<"ratio", "ratio", "double", "0.5", "channel: share of each group's channels to remove, in (0, 1)">,
    Option<"align", "align", "int64_t", "16", "channel: round the kept count up to a multiple of this (1: exact ratio)">,
    ListOption<"skipLayers", "skip-layers", "std::string", "layer names not to prune (a group containing one is left alone)">,
    ListOption<"skipTypes", "skip-types", "std::string", "AMCT layer types not to prune (Conv2d, Linear, ...)">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

def AmctDecompose : Pass<"amct-decompose", "mlir::func::FuncOp"> {
  let summary = "Tensor decomposition: KxK Conv2d -> 1x1, KxK, 1x1 (Tucker-2); Linear / 1x1 Conv -> two thin layers (SVD)";
  let description = [{
    AMCT's auto_decomposition (amct/Transforms/Decompose.h). Ranks keep
    `energy` of each weight's squared singular values (per channel mode
    for Tucker-2), or keep at most `ratio` of each layer's multiply-adds;
    a layer is decomposed only where its factors cost fewer multiply-adds
    (unless `even-if-larger`). The last layer of each chain keeps the
    original name and output tensor; the first ones are `<name>.0`,
    `<name>.1`. At full rank (energy=1) the chain computes the layer.
  }];
  let options = [
    Option<"energy", "energy", "double", "0", "share of the singular values' energy to keep, in (0, 1]">,
    Option<"ratio", "ratio", "double", "0", "share of each layer's multiply-adds to keep, in (0, 1)">,
    Option<"evenIfLarger", "even-if-larger", "bool", "false", "decompose even where FLOPs do not drop">,
    ListOption<"skipLayers", "skip-layers", "std::string", "layer names not to decompose">,
  ];
  let dependentDialects = ["::amct::AmctDialect"];
}

#endif // AMCT_TRANSFORMS_PASSES_TD
